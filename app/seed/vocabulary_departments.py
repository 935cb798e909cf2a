"""The departments (root categories): their category trees and product vocabulary.

`DEPARTMENTS` is in tree order, which fixes the category ids: the first four are here, the
rest in `vocabulary_departments_more` (split only to keep each module a readable length).
"""

from __future__ import annotations

from app.seed.vocabulary_catalog import Department
from app.seed.vocabulary_departments_more import MORE_DEPARTMENTS

# The word lists are laid out by hand, several entries a line; the formatter would give each
# its own line and turn a screenful into ten.
# fmt: off
DEPARTMENTS: tuple[Department, ...] = (
    Department(
        name="Electronics",
        blurb="Computers, audio, phones and cameras from brands you trust.",
        median_price=110.0,
        weight_kg=0.9,
        adjectives=(
            "Wireless", "Portable", "Compact", "Smart", "Ergonomic", "Rechargeable",
            "Ultra-Slim", "Bluetooth", "High-Speed", "Foldable",
        ),
        materials=("Aluminium", "Carbon Fibre", "Matte Black", "Polycarbonate", "Brushed Steel"),
        features=(
            "all-day battery life", "USB-C charging", "Bluetooth 5.3 connectivity",
            "wireless charging support", "a fast-charging 65 W adapter", "low-latency audio",
            "a tool-free setup", "automatic firmware updates",
        ),
        uses=("the home office", "gaming", "travel", "streaming", "students", "content creators"),
        children={
            "Computers": {
                "Laptops": "Laptop|Ultrabook|Chromebook|Gaming Laptop",
                "Desktops": "Desktop PC|Mini PC|All-in-One PC",
                "Monitors": "Monitor|Curved Monitor|Portable Monitor",
                "Laptop Accessories": "Laptop Stand|Laptop Sleeve|Docking Station|Cooling Pad",
                "Keyboards & Mice": "Keyboard|Mechanical Keyboard|Mouse|Trackpad",
            },
            "Audio": {
                "Headphones": "Headphones|Over-Ear Headphones|Studio Headphones",
                "Earbuds": "Earbuds|Sport Earbuds|Noise-Cancelling Earbuds",
                "Speakers": "Speaker|Bookshelf Speaker|Soundbar|Party Speaker",
                "Microphones": "Microphone|USB Microphone|Lavalier Microphone",
                "Turntables": "Turntable|Record Player",
            },
            "Phones & Tablets": {
                "Smartphones": "Smartphone|Camera Phone",
                "Tablets": "Tablet|E-Reader|Drawing Tablet",
                "Phone Cases": "Phone Case|Screen Protector|Phone Grip",
                "Chargers": "Charger|Power Bank|Charging Cable|Charging Stand",
                "Smartwatches": "Smartwatch|Fitness Tracker",
            },
            "Cameras": {
                "Digital Cameras": "Camera|Mirrorless Camera|Instant Camera",
                "Lenses": "Zoom Lens|Prime Lens|Macro Lens",
                "Tripods": "Tripod|Gimbal|Camera Stand",
                "Action Cameras": "Action Camera|Dash Cam",
                "Drones": "Drone|Camera Drone",
            },
            "TV & Home Theater": {
                "Televisions": "TV|OLED TV|Smart TV",
                "Projectors": "Projector|Mini Projector",
                "Streaming Devices": "Streaming Stick|Media Player",
                "Cables & Adapters": "HDMI Cable|USB-C Adapter|USB Hub",
            },
            "Networking": {
                "Routers": "Router|Mesh Router",
                "Network Switches": "Network Switch|Ethernet Switch",
                "Wi-Fi Extenders": "Range Extender|Powerline Adapter",
            },
        },
    ),
    Department(
        name="Home & Kitchen",
        blurb="Cookware, appliances, furniture and decor for every room.",
        median_price=45.0,
        weight_kg=2.5,
        adjectives=(
            "Modern", "Classic", "Compact", "Premium", "Heavy-Duty", "Stackable", "Minimalist",
            "Rustic", "Nonstick", "Space-Saving",
        ),
        materials=(
            "Stainless Steel", "Ceramic", "Bamboo", "Cast Iron", "Glass", "Oak", "Linen",
            "Cotton", "Walnut",
        ),
        features=(
            "dishwasher-safe parts", "a lifetime warranty", "easy assembly",
            "an induction-ready base", "a scratch-resistant finish", "soft-close hinges",
            "removable washable covers",
        ),
        uses=("small kitchens", "family dinners", "the living room", "apartments", "gifting"),
        children={
            "Cookware": {
                "Pots & Pans": "Frying Pan|Saucepan|Stock Pot|Skillet",
                "Dutch Ovens": "Dutch Oven|Casserole Dish",
                "Bakeware": "Baking Sheet|Cake Pan|Muffin Tin|Loaf Pan",
                "Kitchen Knives": "Chef's Knife|Knife Set|Paring Knife|Bread Knife",
                "Utensils": "Spatula|Whisk|Ladle|Tongs",
            },
            "Small Appliances": {
                "Coffee Makers": "Coffee Maker|Espresso Machine|French Press|Coffee Grinder",
                "Blenders": "Blender|Hand Blender|Food Processor",
                "Toasters": "Toaster|Toaster Oven",
                "Kettles": "Kettle|Electric Kettle|Gooseneck Kettle",
                "Air Fryers": "Air Fryer|Slow Cooker|Rice Cooker",
            },
            "Furniture": {
                "Desks": "Desk|Standing Desk|Writing Desk",
                "Chairs": "Office Chair|Dining Chair|Armchair",
                "Shelving": "Bookshelf|Wall Shelf|Storage Rack",
                "Tables": "Coffee Table|Side Table|Dining Table",
                "Sofas": "Sofa|Loveseat|Sofa Bed",
            },
            "Bedding": {
                "Sheets": "Sheet Set|Fitted Sheet|Pillowcase Set",
                "Pillows": "Pillow|Memory Foam Pillow",
                "Duvets": "Duvet|Comforter|Duvet Cover",
                "Blankets": "Throw Blanket|Weighted Blanket",
            },
            "Decor": {
                "Lamps": "Table Lamp|Floor Lamp|Desk Lamp",
                "Rugs": "Rug|Runner Rug|Doormat",
                "Wall Art": "Framed Print|Canvas Print|Wall Clock",
                "Candles": "Candle|Candle Holder",
                "Vases": "Vase|Planter",
            },
            "Storage": {
                "Baskets": "Storage Basket|Laundry Basket",
                "Containers": "Storage Box|Food Container|Spice Jar Set",
                "Organizers": "Drawer Organizer|Shoe Rack|Closet Organizer",
            },
        },
    ),
    Department(
        name="Sports & Outdoors",
        blurb="Gear for the trail, the gym and the water.",
        median_price=55.0,
        weight_kg=1.6,
        adjectives=(
            "Lightweight", "Waterproof", "Breathable", "Adjustable", "Foldable", "All-Weather",
            "Ultralight", "Insulated", "Trail-Ready",
        ),
        materials=("Nylon", "Ripstop", "Merino", "Aluminium", "Carbon", "Neoprene", "Rubber"),
        features=(
            "taped seams", "a packable design", "reflective details", "a non-slip grip",
            "quick-dry fabric", "a carry bag", "a two-year warranty",
        ),
        uses=("weekend hikes", "the gym", "camping trips", "daily training", "long rides"),
        children={
            "Camping": {
                "Tents": "Tent|Backpacking Tent|Tarp Shelter",
                "Sleeping Bags": "Sleeping Bag|Sleeping Pad",
                "Camp Kitchen": "Camp Stove|Cookset|Water Filter",
                "Camp Lighting": "Headlamp|Lantern|Flashlight",
            },
            "Fitness": {
                "Yoga": "Yoga Mat|Yoga Block|Yoga Strap",
                "Weights": "Dumbbell|Kettlebell|Weight Plate",
                "Cardio": "Jump Rope|Exercise Bike|Rowing Machine",
                "Recovery": "Foam Roller|Massage Gun",
            },
            "Cycling": {
                "Bikes": "Road Bike|Mountain Bike|Gravel Bike",
                "Helmets": "Bike Helmet|Commuter Helmet",
                "Bike Accessories": "Bike Light|Bike Lock|Bike Pump|Saddle Bag",
            },
            "Hiking": {
                "Backpacks": "Hiking Backpack|Daypack",
                "Hiking Footwear": "Hiking Boot|Trail Shoe",
                "Trekking Poles": "Trekking Pole",
                "Hydration": "Water Bottle|Hydration Pack",
            },
            "Water Sports": {
                "Swimming": "Swim Goggles|Swim Cap",
                "Paddle Sports": "Kayak Paddle|Life Jacket|Dry Bag",
                "Surfing": "Surfboard|Wetsuit",
            },
            "Team Sports": {
                "Balls": "Football|Basketball|Volleyball",
                "Training Gear": "Training Cones|Agility Ladder",
            },
        },
    ),
    Department(
        name="Clothing",
        blurb="Everyday essentials and seasonal favourites for the whole family.",
        median_price=38.0,
        weight_kg=0.5,
        adjectives=(
            "Slim-Fit", "Relaxed", "Classic", "Vintage", "Essential", "Everyday", "Organic",
            "Stretch", "Oversized",
        ),
        materials=("Cotton", "Linen", "Wool", "Denim", "Cashmere", "Fleece", "Leather"),
        features=(
            "reinforced seams", "a tagless collar", "machine-washable fabric",
            "deep pockets", "a tailored fit", "ethically sourced materials",
        ),
        uses=("the office", "weekends", "cold mornings", "travel", "layering"),
        children={
            "Men's Clothing": {
                "Shirts": "Shirt|Oxford Shirt|Flannel Shirt",
                "T-Shirts": "T-Shirt|Henley|Polo Shirt",
                "Trousers": "Jeans|Chinos|Joggers",
                "Jackets": "Jacket|Bomber Jacket|Parka",
                "Sweaters": "Sweater|Cardigan|Hoodie",
            },
            "Women's Clothing": {
                "Dresses": "Dress|Wrap Dress|Maxi Dress",
                "Tops": "Blouse|Tank Top|Tunic",
                "Skirts": "Skirt|Pleated Skirt",
                "Coats": "Coat|Trench Coat|Puffer Jacket",
                "Knitwear": "Jumper|Turtleneck|Knit Cardigan",
            },
            "Shoes": {
                "Sneakers": "Sneaker|Running Shoe",
                "Boots": "Boot|Chelsea Boot",
                "Sandals": "Sandal|Slide",
                "Formal Shoes": "Loafer|Oxford Shoe",
            },
            "Accessories": {
                "Bags": "Tote Bag|Backpack|Crossbody Bag",
                "Hats": "Beanie|Baseball Cap|Sun Hat",
                "Belts": "Belt|Reversible Belt",
                "Scarves": "Scarf|Wrap Scarf",
                "Wallets": "Wallet|Card Holder",
            },
            "Kids' Clothing": {
                "Baby Clothes": "Bodysuit|Romper",
                "Kids' Tops": "Kids' T-Shirt|Kids' Hoodie",
                "Kids' Outerwear": "Kids' Raincoat|Snowsuit",
            },
        },
    ),
    *MORE_DEPARTMENTS,
)
# fmt: on
