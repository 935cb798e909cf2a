"""A deterministic, realistic catalog for development and benchmarks (`catalog seed`).

Everything derives from one `random.Random(seed)` and a fixed reference date, so the same
arguments always produce the same rows, ids included: that is what lets a benchmark or a bug
report point at "product 4217" and mean the same thing on every machine. Ids are therefore
written explicitly, which is why seeding needs an empty catalog (or `--reset`).

Rows are generated in Python and bulk-loaded with binary COPY over a raw asyncpg connection in a
single transaction: ORM inserts would take minutes for 100k reviews, COPY takes seconds, and one
transaction means a failed seed leaves nothing half-written behind.

The shape of the data is meant to look like a real shop's: a three-level category tree, product
names and descriptions built from per-department word lists (so searches such as "laptop" or
"wireless" find sensible things), log-normal prices, a power-law spread of reviews over products
(a few products have hundreds, most have a handful or none) and positively skewed ratings.
"""

from __future__ import annotations

import heapq
import itertools
import json
import math
import re
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from random import Random
from types import TracebackType
from typing import Any, TextIO, TypeVar

import asyncpg  # type: ignore[import-untyped,unused-ignore]
from sqlalchemy.engine import make_url

from db.session import async_url
from resolvers.passwords import hash_password

SEED_PASSWORD = "seed-password-123"
SEED_EMAIL_DOMAIN = "seed.example.com"
# Not "now": timestamps must not depend on when the seed runs, or two runs would differ.
REFERENCE_DATE = datetime(2026, 11, 1, tzinfo=UTC)
HISTORY = timedelta(days=730)

MIN_PRICE_CENTS = 199
MAX_PRICE_CENTS = 299_900
OUT_OF_STOCK_SHARE = 0.08
MID_LEVEL_PRODUCT_SHARE = 0.05  # products filed under a subcategory rather than a leaf
PRODUCT_STATUSES = ("published", "draft", "archived")
PRODUCT_STATUS_WEIGHTS = (90, 7, 3)
PENDING_SHARE = 0.03
REJECTED_SHARE = 0.01
# Share of reviews per star, index 0 = one star: skewed positive as real shops are.
RATING_WEIGHTS = (8.0, 7.0, 12.0, 28.0, 45.0)
# Zipf-Mandelbrot exponent for reviews per product: 1 / (rank + offset) ** exponent. The
# offset keeps the head from saturating (every user reviewing the top product).
ZIPF_EXPONENT = 1.2
COPY_BATCH = 1000  # rows between progress-bar updates

_T = TypeVar("_T")


class SeedError(Exception):
    """The seed was refused; the message says why and is meant for the command line."""


class CatalogNotEmptyError(SeedError):
    pass


@dataclass(frozen=True)
class SeedSummary:
    categories: int
    products: int
    users: int
    reviews: int
    approved_reviews: int
    rated_products: int
    seed: int
    password: str
    elapsed_seconds: float

    def __str__(self) -> str:
        return (
            f"{self.categories} categories, {self.products} products, {self.users} users "
            f"(password {self.password!r}), {self.reviews} reviews "
            f"in {self.elapsed_seconds:.1f} s"
        )

    def report(self) -> str:
        """The multi-line summary `catalog seed` prints."""
        first = f"user{1:05d}@{SEED_EMAIL_DOMAIN}" if self.users else "-"
        return (
            f"Seeded the catalog (seed {self.seed}) in {self.elapsed_seconds:.1f} s:\n"
            f"  categories  {self.categories}\n"
            f"  products    {self.products} ({self.rated_products} with approved reviews)\n"
            f"  users       {self.users} customers, e.g. {first} / password {self.password}\n"
            f"  reviews     {self.reviews} ({self.approved_reviews} approved)"
        )


# --------------------------------------------------------------------------- word lists


@dataclass(frozen=True)
class _Department:
    """A root category and the vocabulary its products are described with."""

    name: str
    blurb: str
    median_price: float
    weight_kg: float
    adjectives: tuple[str, ...]
    materials: tuple[str, ...]
    features: tuple[str, ...]
    uses: tuple[str, ...]
    # subcategory -> leaf category -> "|"-separated product nouns sold there
    children: dict[str, dict[str, str]]


# The word lists are laid out by hand, several entries a line; the formatter would give each
# its own line and turn a screenful into ten.
# fmt: off
DEPARTMENTS: tuple[_Department, ...] = (
    _Department(
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
    _Department(
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
    _Department(
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
    _Department(
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
    _Department(
        name="Books",
        blurb="Fiction, non-fiction and children's books, new and classic.",
        median_price=16.0,
        weight_kg=0.45,
        adjectives=(
            "Illustrated", "Bestselling", "Annotated", "Complete", "Collector's", "Essential",
            "Award-Winning", "Pocket",
        ),
        materials=("Hardcover", "Paperback", "Large Print", "Spiral-Bound"),
        features=(
            "full-colour illustrations", "a foreword by the author", "an index and glossary",
            "discussion questions", "a ribbon bookmark",
        ),
        uses=("book clubs", "long journeys", "bedtime reading", "beginners", "gifting"),
        children={
            "Fiction": {
                "Mystery & Thriller": "Mystery Novel|Thriller|Crime Novel",
                "Science Fiction": "Science Fiction Novel|Space Opera",
                "Fantasy": "Fantasy Novel|Epic Fantasy Saga",
                "Literary Fiction": "Literary Novel|Short Story Collection",
                "Romance": "Romance Novel|Historical Romance",
            },
            "Non-Fiction": {
                "Biographies": "Biography|Memoir",
                "History": "History Book|Historical Atlas",
                "Popular Science": "Popular Science Book|Nature Guide",
                "Business": "Business Book|Leadership Guide",
                "Self-Help": "Self-Help Book|Guided Journal",
            },
            "Children's Books": {
                "Picture Books": "Picture Book|Board Book",
                "Early Readers": "Early Reader|Phonics Book",
                "Young Adult": "Young Adult Novel",
                "Activity Books": "Activity Book|Colouring Book",
            },
            "Food & Drink": {
                "Cookbooks": "Cookbook|Baking Book",
                "Drinks": "Cocktail Guide|Wine Guide",
            },
            "Technology": {
                "Programming": "Programming Guide|Python Handbook",
                "Design": "Design Handbook|Typography Guide",
                "Data Science": "Data Science Guide|Statistics Primer",
            },
        },
    ),
    _Department(
        name="Toys & Games",
        blurb="Board games, building sets and toys for every age.",
        median_price=28.0,
        weight_kg=0.8,
        adjectives=(
            "Educational", "Classic", "Deluxe", "Interactive", "Magnetic", "Colourful",
            "Collectible", "Travel",
        ),
        materials=("Wooden", "Plush", "Felt", "Cardboard", "Recycled Plastic"),
        features=(
            "non-toxic paints", "a sturdy storage box", "easy-to-read rules",
            "replaceable parts", "batteries included",
        ),
        uses=("family game night", "toddlers", "rainy days", "parties", "classrooms"),
        children={
            "Board Games": {
                "Strategy Games": "Strategy Game|Board Game",
                "Family Games": "Family Game|Party Game",
                "Card Games": "Card Game|Playing Cards",
                "Puzzles": "Jigsaw Puzzle|Puzzle Box",
            },
            "Building Toys": {
                "Building Sets": "Building Set|Brick Set",
                "Construction": "Construction Kit|Marble Run",
                "STEM Kits": "Robotics Kit|Science Kit|Circuit Kit",
            },
            "Dolls & Figures": {
                "Dolls": "Doll|Dollhouse",
                "Action Figures": "Action Figure|Figure Set",
                "Plush Toys": "Teddy Bear|Plush Toy",
            },
            "Outdoor Play": {
                "Ride-Ons": "Scooter|Balance Bike",
                "Water Toys": "Water Blaster|Pool Float",
                "Playground": "Swing Set|Sandbox",
            },
            "Baby & Toddler": {
                "Stacking Toys": "Stacking Toy|Shape Sorter",
                "Rattles & Teethers": "Rattle|Teether",
                "Play Mats": "Play Mat|Activity Gym",
            },
        },
    ),
    _Department(
        name="Beauty & Personal Care",
        blurb="Skincare, hair care, makeup and grooming essentials.",
        median_price=22.0,
        weight_kg=0.3,
        adjectives=(
            "Hydrating", "Gentle", "Fragrance-Free", "Organic", "Vegan", "Nourishing",
            "Travel-Size", "Professional",
        ),
        materials=("Aloe", "Argan Oil", "Shea Butter", "Charcoal", "Vitamin C", "Rose"),
        features=(
            "dermatologist-tested formulas", "recyclable packaging", "no parabens",
            "a refillable bottle", "cruelty-free ingredients",
        ),
        uses=("sensitive skin", "daily routines", "travel", "dry climates", "gifting"),
        children={
            "Skincare": {
                "Moisturizers": "Moisturizer|Face Cream|Night Cream",
                "Cleansers": "Cleanser|Face Wash|Micellar Water",
                "Serums": "Serum|Face Oil",
                "Sunscreen": "Sunscreen|SPF Lotion",
            },
            "Hair Care": {
                "Shampoo": "Shampoo|Dry Shampoo",
                "Conditioner": "Conditioner|Hair Mask",
                "Styling Tools": "Hair Dryer|Straightener|Curling Iron",
                "Brushes & Combs": "Hair Brush|Comb",
            },
            "Makeup": {
                "Face Makeup": "Foundation|Concealer|Blush",
                "Eye Makeup": "Mascara|Eyeliner|Eyeshadow Palette",
                "Lips": "Lipstick|Lip Balm|Lip Gloss",
            },
            "Bath & Body": {
                "Body Wash": "Body Wash|Bar Soap",
                "Lotions": "Body Lotion|Hand Cream",
                "Bath Soaks": "Bath Bomb|Bath Salts",
            },
            "Shaving & Grooming": {
                "Razors & Trimmers": "Razor|Electric Shaver|Beard Trimmer",
                "Shaving Cream": "Shaving Cream|Aftershave Balm",
            },
        },
    ),
    _Department(
        name="Garden & Tools",
        blurb="Power tools, hand tools and everything for the garden.",
        median_price=48.0,
        weight_kg=2.2,
        adjectives=(
            "Heavy-Duty", "Cordless", "Adjustable", "Professional", "Weatherproof", "Compact",
            "Telescopic", "Brushless",
        ),
        materials=("Steel", "Galvanised Steel", "Cedar", "Fibreglass", "Terracotta", "Resin"),
        features=(
            "a 20 V lithium battery", "a soft-grip handle", "a five-year warranty",
            "rust-resistant coating", "a hard carry case", "tool-free blade changes",
        ),
        uses=("weekend projects", "small gardens", "balconies", "the workshop", "DIY beginners"),
        children={
            "Power Tools": {
                "Drills": "Cordless Drill|Impact Driver|Hammer Drill",
                "Saws": "Circular Saw|Jigsaw|Mitre Saw",
                "Sanders": "Orbital Sander|Belt Sander",
                "Batteries & Chargers": "Tool Battery|Battery Charger",
            },
            "Hand Tools": {
                "Wrenches": "Wrench Set|Adjustable Wrench",
                "Screwdrivers": "Screwdriver Set|Precision Screwdriver",
                "Hammers": "Claw Hammer|Mallet",
                "Measuring Tools": "Tape Measure|Spirit Level|Laser Level",
            },
            "Gardening": {
                "Planters": "Planter|Raised Garden Bed",
                "Watering": "Garden Hose|Watering Can|Sprinkler",
                "Garden Tools": "Pruning Shears|Garden Trowel|Rake",
                "Seeds & Kits": "Seed Kit|Herb Garden Kit",
            },
            "Outdoor Living": {
                "Grills": "Gas Grill|Charcoal Grill|Pizza Oven",
                "Patio Furniture": "Patio Chair|Hammock|Patio Umbrella",
                "Outdoor Lighting": "Solar Light|String Lights",
            },
        },
    ),
    _Department(
        name="Office Supplies",
        blurb="Pens, paper and desk essentials for work and study.",
        median_price=14.0,
        weight_kg=0.4,
        adjectives=("Refillable", "Premium", "Recycled", "Executive", "Compact", "Archival"),
        materials=("Leather", "Recycled Paper", "Kraft", "Bamboo", "Brass"),
        features=(
            "acid-free paper", "smudge-proof ink", "a lay-flat binding", "a magnetic closure",
            "refills available separately",
        ),
        uses=("note-taking", "the home office", "students", "journaling", "meetings"),
        children={
            "Writing": {
                "Pens": "Fountain Pen|Ballpoint Pen|Gel Pen",
                "Pencils": "Mechanical Pencil|Pencil Set",
                "Markers": "Highlighter Set|Marker Set",
            },
            "Paper": {
                "Notebooks": "Notebook|Dot Grid Notebook",
                "Planners": "Planner|Desk Calendar",
                "Sticky Notes": "Sticky Notes|Index Cards",
            },
            "Desk Accessories": {
                "Desk Organizers": "Desk Organizer|Pen Holder|Monitor Stand",
                "Desk Mats": "Desk Mat|Mouse Pad",
            },
            "Filing": {
                "Folders": "File Folder|Binder",
                "Labels": "Label Maker|Label Roll",
            },
        },
    ),
    _Department(
        name="Pet Supplies",
        blurb="Food, toys, beds and care for dogs, cats and small pets.",
        median_price=24.0,
        weight_kg=1.2,
        adjectives=("Durable", "Washable", "Orthopedic", "Interactive", "Chew-Proof", "Cosy"),
        materials=("Nylon", "Rope", "Plush", "Rubber", "Bamboo", "Stainless Steel"),
        features=(
            "a non-slip base", "machine-washable covers", "vet-approved materials",
            "a reflective stitch", "a spill-proof design",
        ),
        uses=("large dogs", "indoor cats", "puppies", "senior pets", "travel"),
        children={
            "Dogs": {
                "Dog Beds": "Dog Bed|Crate Mat",
                "Dog Toys": "Chew Toy|Fetch Ball|Rope Toy",
                "Leashes & Collars": "Leash|Collar|Harness",
                "Dog Treats": "Dog Treats|Dental Chews",
            },
            "Cats": {
                "Cat Trees": "Cat Tree|Scratching Post",
                "Cat Toys": "Cat Toy|Feather Wand",
                "Litter": "Litter Box|Cat Litter",
            },
            "Fish & Aquatics": {
                "Aquariums": "Aquarium|Fish Tank",
                "Aquarium Filters": "Aquarium Filter|Air Pump",
            },
            "Small Animals": {
                "Cages & Hutches": "Hamster Cage|Rabbit Hutch",
                "Small Animal Bedding": "Small Animal Bedding|Hay Feeder",
            },
            "Bowls & Feeders": {
                "Bowls": "Pet Bowl|Raised Bowl",
                "Feeders": "Automatic Feeder|Water Fountain",
            },
        },
    ),
)

# Prefixes that make a second "Laptops" distinct when a large tree reuses the word lists.
QUALIFIERS = ("Premium", "Budget", "Refurbished", "Professional", "Eco-Friendly", "Travel")
MODEL_SUFFIXES = ("Pro", "Plus", "Mini", "Max", "Lite", "II", "X", "Duo")
COLORS = (
    "black", "white", "silver", "grey", "navy", "red", "green", "blue", "beige", "walnut",
    "charcoal", "olive", "sand", "rose gold",
)
BRANDS = (
    "Northwind", "Acme", "Lumen", "Veridian", "Kestrel", "Orbit", "Harbor & Pine", "Summit",
    "Brightline", "Fernwood", "Polaris", "Tidewater", "Copperleaf", "Ironbark", "Nimbus",
    "Bluebell", "Granite Co.", "Maple & Ash", "Quill", "Solstice",
)
IMAGE_VIEWS = ("front view", "side view", "in use", "detail", "packaging")
FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Oliver", "Sophia", "Elijah", "Isabella", "James",
    "Mia", "Lucas", "Amelia", "Mateo", "Harper", "Ethan", "Aisha", "Hiroshi", "Chloe", "Daniel",
    "Priya", "Samuel", "Zoe", "Omar", "Lena", "Carlos", "Freya", "Kwame", "Ingrid", "Ravi",
    "Nora", "Felix", "Maya", "Jonas", "Elena", "Tariq", "Clara", "Mei", "Diego", "Hannah",
)
LAST_NAMES = (
    "Smith", "Johnson", "Garcia", "Brown", "Nguyen", "Kim", "Patel", "Müller", "Rossi",
    "Silva", "Okafor", "Andersson", "Kowalski", "Tanaka", "Martin", "Lopez", "Wilson", "Chen",
    "Dubois", "Novak", "Haddad", "Murphy", "Jensen", "Costa", "Ibrahim", "Schmidt", "Walker",
    "Santos", "Ali", "Fischer", "Young", "Hughes", "Reyes", "Larsen", "Cohen", "Mensah",
)

# Review text per star rating (index 0 = one star); {noun} is the product's noun.
REVIEW_TITLES: tuple[tuple[str, ...], ...] = (
    ("Terrible", "Broke within a week", "Complete waste of money", "Do not buy",
     "Returned it immediately", "Very disappointing"),
    ("Disappointed", "Not as described", "Expected more", "Mediocre quality",
     "Would not buy again"),
    ("It's okay", "Decent but not great", "Mixed feelings", "Average",
     "Fine for the price", "Does what it says, nothing more"),
    ("Really good", "Very happy with it", "Solid choice", "Great, with one small gripe",
     "Does the job well", "Good value"),
    ("Absolutely love it", "Exceeded my expectations", "Best purchase this year",
     "Five stars, no question", "Worth every penny", "Fantastic quality"),
)
REVIEW_SENTENCES: tuple[tuple[str, ...], ...] = (
    ("The {noun} stopped working after a few days.",
     "Arrived damaged and the replacement was no better.",
     "Nothing like the description or the photos.",
     "Poor quality; I sent it back for a refund.",
     "The {noun} feels flimsy and cheap."),
    ("The {noun} started showing wear after a few weeks.",
     "Smaller than it looks in the pictures.",
     "Customer service was slow to respond.",
     "Not worth the price in my opinion.",
     "It works, but only just."),
    ("The {noun} is fine but nothing special.",
     "Some parts feel cheap, others are solid.",
     "It works, but I expected a better finish.",
     "Okay for occasional use.",
     "Average quality for the price."),
    ("A good {noun} overall, though the instructions could be clearer.",
     "Works well; the packaging was a bit excessive.",
     "Does everything I need, minus one star for the price.",
     "Quality is good but delivery took longer than expected.",
     "Nice {noun}; the colour is slightly different from the photos."),
    ("The {noun} arrived quickly and works perfectly.",
     "Build quality is excellent and it feels premium.",
     "I use this {noun} every day and it has held up beautifully.",
     "Bought a second one as a gift after a week of using mine.",
     "Setup took five minutes and everything just works.",
     "Honestly better than options costing twice as much."),
)
# fmt: on
REVIEW_ASIDES = (
    "Delivery took {days} days.",
    "I have had it for {months} months now.",
    "Bought it on sale.",
    "Compared it with two other brands before buying.",
)
MODERATION_REASONS = (
    "Contains personal information.",
    "About delivery, not the product.",
    "Inappropriate language.",
    "Duplicate of another review.",
)


# --------------------------------------------------------------------------- progress


class _Bar:
    """One phase's progress: a single redrawn stderr line, finished with the elapsed time."""

    WIDTH = 28

    def __init__(self, stream: TextIO | None, label: str, total: int) -> None:
        self._stream = stream
        self._label = label
        self._total = max(total, 1)
        self._done = 0
        self._drawn = -1
        self._started = time.perf_counter()

    def __enter__(self) -> _Bar:
        self._draw()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._stream is None:
            return
        if kind is None:
            self._done = self._total
            self._drawn = -1
            self._draw(f" {time.perf_counter() - self._started:.1f} s")
        self._stream.write("\n")
        self._stream.flush()

    def advance(self, count: int = 1) -> None:
        self._done = min(self._done + count, self._total)
        self._draw()

    def _draw(self, suffix: str = "") -> None:
        if self._stream is None:
            return
        percent = self._done * 100 // self._total
        # Redraw only when the percentage moves: terminals are slow next to the work.
        if percent == self._drawn:
            return
        self._drawn = percent
        filled = self.WIDTH * self._done // self._total
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        self._stream.write(f"\r{self._label:<18} [{bar}] {percent:3d}%{suffix}")
        self._stream.flush()


class _Progress:
    def __init__(self, enabled: bool, stream: TextIO | None = None) -> None:
        stream = stream or sys.stderr
        # Bars in a log file or a pipe are noise: draw only on an interactive terminal.
        self._stream = stream if enabled and stream.isatty() else None

    def phase(self, label: str, total: int = 1) -> _Bar:
        return _Bar(self._stream, label, total)

    def track(self, label: str, rows: Sequence[_T]) -> Iterator[_T]:
        """Yield `rows` (to COPY) while the bar follows how many were consumed."""
        with self.phase(label, len(rows)) as bar:
            for start in range(0, len(rows), COPY_BATCH):
                yield from rows[start : start + COPY_BATCH]
                bar.advance(min(COPY_BATCH, len(rows) - start))


# --------------------------------------------------------------------------- generation


@dataclass
class _Category:
    id: int
    parent_id: int | None
    path: list[int]
    name: str
    slug: str
    description: str
    created: int  # unix seconds
    department: _Department
    nouns: tuple[str, ...]  # what products filed here are called
    price_factor: float  # some leaves are pricier than their department's median
    is_leaf: bool

    def row(self) -> tuple[Any, ...]:
        at = _ts(self.created)
        return (self.id, self.parent_id, self.path, self.name, self.slug, self.description, at, at)


@dataclass
class _Products:
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    created: list[int] = field(default_factory=list)
    nouns: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)


def _ts(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def slugify(text: str) -> str:
    """Lowercase words joined by hyphens: "Men's Keyboards & Mice" -> "mens-keyboards-and-mice"."""
    text = text.lower().replace("&", " and ").replace("'", "")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def _plural(noun: str) -> str:
    if noun.endswith("s"):  # "Headphones", "Bath Salts": already plural
        return noun
    if noun.endswith(("x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    if noun.endswith("fe"):
        return noun[:-2] + "ves"
    return noun + "s"


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _spread(total: int, capacities: Sequence[int]) -> list[int]:
    """Split `total` over buckets: at least one each, then always to the one with most room.

    Room past a bucket's capacity is fine (names get qualifiers), it is just used last.
    """
    counts = [1] * len(capacities)
    heap = [(-(capacity - 1), index) for index, capacity in enumerate(capacities)]
    heapq.heapify(heap)
    for _ in range(total - len(capacities)):
        room, index = heapq.heappop(heap)
        counts[index] += 1
        heapq.heappush(heap, (room + 1, index))
    return counts


def _variant(names: Sequence[str], index: int) -> tuple[int, str]:
    """The index-th name of a list that repeats with qualifiers: Laptops, ..., Premium Laptops."""
    base = index % len(names)
    lap = index // len(names)
    if lap == 0:
        return base, names[base]
    return base, f"{QUALIFIERS[(lap - 1) % len(QUALIFIERS)]} {names[base]}"


def _tree_shape(total: int) -> tuple[int, int, int]:
    """How many roots, subcategories and leaves: about 4-5 children per inner node."""
    roots = max(1, min(round(total**0.4), total // 3))
    rest = total - roots
    middle = min(max(round(rest / 5), roots), rest // 2)
    return roots, middle, rest - middle


def _build_categories(rng: Random, total: int, start: int) -> list[_Category]:
    roots, middle, leaves = _tree_shape(total)
    slugs: set[str] = set()

    def unique_slug(name: str, parent: _Category | None) -> str:
        slug = slugify(name)
        if slug in slugs and parent is not None:
            slug = f"{parent.slug}-{slug}"
        candidate, number = slug, 1
        while candidate in slugs:
            number += 1
            candidate = f"{slug}-{number}"
        slugs.add(candidate)
        return candidate

    categories: list[_Category] = []
    root_specs: list[tuple[_Category, list[tuple[str, dict[str, str]]]]] = []
    departments = [department.name for department in DEPARTMENTS]
    for index in range(roots):
        base, name = _variant(departments, index)
        department = DEPARTMENTS[base]
        category = _Category(
            id=len(categories) + 1,
            parent_id=None,
            path=[],
            name=name,
            slug=unique_slug(name, None),
            description="",
            created=start + rng.randrange(0, 3 * 86400),
            department=department,
            nouns=(),
            price_factor=1.0,
            is_leaf=False,
        )
        categories.append(category)
        root_specs.append((category, list(department.children.items())))

    middle_specs: list[tuple[_Category, list[tuple[str, str]]]] = []
    counts = _spread(middle, [len(children) for _, children in root_specs])
    for (root, children), count in zip(root_specs, counts, strict=True):
        child_names = [name for name, _ in children]
        for index in range(count):
            base, name = _variant(child_names, index)
            category = _Category(
                id=len(categories) + 1,
                parent_id=root.id,
                path=[root.id],
                name=name,
                slug=unique_slug(name, root),
                description="",
                created=root.created + rng.randrange(3600, 4 * 86400),
                department=root.department,
                nouns=(),
                price_factor=1.0,
                is_leaf=False,
            )
            categories.append(category)
            middle_specs.append((category, list(children[base][1].items())))

    counts = _spread(leaves, [len(leaf_specs) for _, leaf_specs in middle_specs])
    for (parent, leaf_specs), count in zip(middle_specs, counts, strict=True):
        leaf_names = [name for name, _ in leaf_specs]
        nouns: list[str] = []
        for index in range(count):
            base, name = _variant(leaf_names, index)
            leaf_nouns = tuple(leaf_specs[base][1].split("|"))
            nouns.extend(noun for noun in leaf_nouns if noun not in nouns)
            department = parent.department
            adjectives = rng.sample(department.adjectives, 2)
            description = (
                f"{name} for every budget, from {adjectives[0].lower()} everyday picks to "
                f"{adjectives[1].lower()} {_plural(leaf_nouns[-1]).lower()}. "
                + rng.choice(
                    (
                        "Compare prices, specs and reviews side by side.",
                        "Free delivery on orders over $50 and returns within 30 days.",
                        f"Hand-picked by our {department.name.lower()} team.",
                        "New arrivals every week.",
                    )
                )
            )
            categories.append(
                _Category(
                    id=len(categories) + 1,
                    parent_id=parent.id,
                    path=[*parent.path, parent.id],
                    name=name,
                    slug=unique_slug(name, parent),
                    description=description,
                    created=parent.created + rng.randrange(3600, 4 * 86400),
                    department=department,
                    nouns=leaf_nouns,
                    price_factor=rng.lognormvariate(0.0, 0.7),
                    is_leaf=True,
                )
            )
        # A subcategory sells what its leaves sell (for the few products filed directly there).
        parent.nouns = tuple(nouns)
        parent.price_factor = rng.lognormvariate(0.0, 0.3)

    by_parent: dict[int, list[str]] = {}
    for category in categories:
        if category.parent_id is not None:
            by_parent.setdefault(category.parent_id, []).append(category.name)
    for category in categories:
        if category.is_leaf:
            continue
        below = by_parent.get(category.id, [])
        listed = ", ".join(below[:3]).lower()
        more = " and more" if len(below) > 3 else ""
        if category.parent_id is None:
            category.description = f"{category.department.blurb} Explore {listed}{more}."
        else:
            category.description = (
                f"Everything in {category.name.lower()}: {listed}{more}. "
                f"Part of our {categories[category.parent_id - 1].name} department."
            )
    return categories


def _product_name(rng: Random, department: _Department, noun: str) -> tuple[str, str, str]:
    """(name, adjective, material), e.g. ("Ergonomic Aluminium Laptop Stand", ...)."""
    adjective = rng.choice(department.adjectives) if rng.random() < 0.85 else ""
    material = rng.choice(department.materials) if rng.random() < 0.6 else ""
    suffix = rng.choice(MODEL_SUFFIXES) if rng.random() < 0.2 else ""
    # "Portable Portable Monitor" reads as a bug: drop a modifier the noun already carries.
    if adjective and adjective.lower() in noun.lower():
        adjective = ""
    if material and material.lower() in noun.lower():
        material = ""
    name = " ".join(part for part in (adjective, material, noun, suffix) if part)
    return name, adjective, material


def _price_cents(rng: Random, median: float) -> int:
    price = median * rng.lognormvariate(0.0, 0.55)
    whole = max(2, round(price))
    # Shop prices end in .99 mostly, sometimes .49 or .00.
    ending = rng.choices((1, 51, 0), weights=(70, 15, 15))[0]
    return min(max(whole * 100 - ending, MIN_PRICE_CENTS), MAX_PRICE_CENTS)


def _description(
    rng: Random,
    category: _Category,
    name: str,
    noun: str,
    adjective: str,
    material: str,
    brand: str,
    color: str,
    weight: float,
) -> str:
    department = category.department
    use = rng.choice(department.uses)
    kind = f"{adjective.lower()} {noun.lower()}" if adjective else noun.lower()
    # "Joggers" and "Earbuds" are plural: "are joggers", not "is a joggers".
    plural = noun.endswith("s") and not noun.endswith(("ss", "Lens"))
    a_kind = kind if plural else f"{_article(kind)} {kind}"
    intro = rng.choice(
        (
            f"The {name} {'are' if plural else 'is'} {a_kind} built for {use}.",
            f"Meet the {name}: {a_kind} designed for {use}.",
            f"{'These' if plural else 'This'} {noun.lower()} from {brand} "
            f"{'are' if plural else 'is'} made for {use}.",
        )
    )
    first, second = rng.sample(department.features, 2)
    extras = [
        f"Highlights include {first} and {second}.",
        f"Available in {color}; it weighs {weight:g} kg.",
        f"Backed by {brand}'s {rng.randint(1, 3)}-year warranty and free 30-day returns.",
        f"A customer favourite in our {category.name.lower()} range.",
    ]
    if material:
        extras.append(f"Made from {material.lower()} to last for years.")
    sentences = [intro, *rng.sample(extras, rng.randint(1, 3))]
    return " ".join(sentences)


def _build_products(
    rng: Random, categories: list[_Category], total: int, start: int, end: int
) -> _Products:
    leaves = [category for category in categories if category.is_leaf]
    middles = [c for c in categories if not c.is_leaf and c.parent_id is not None]
    # Some categories are far bigger than others, as in any real shop.
    leaf_weights = list(itertools.accumulate(rng.lognormvariate(0.0, 0.7) for _ in leaves))
    products = _Products()
    # Sorted creation times, so ids grow with created_at as they would in production.
    created = sorted(rng.randrange(start, end) for _ in range(total))
    for index, created_at in enumerate(created):
        product_id = index + 1
        if middles and rng.random() < MID_LEVEL_PRODUCT_SHARE:
            category = rng.choice(middles)
        else:
            category = rng.choices(leaves, cum_weights=leaf_weights)[0]
        department = category.department
        noun = rng.choice(category.nouns)
        name, adjective, material = _product_name(rng, department, noun)
        brand = rng.choice(BRANDS)
        color = rng.choice(COLORS)
        weight = max(0.05, round(department.weight_kg * rng.lognormvariate(0.0, 0.5), 2))
        price = Decimal(_price_cents(rng, department.median_price * category.price_factor)).scaleb(
            -2
        )
        stock = 0 if rng.random() < OUT_OF_STOCK_SHARE else round(rng.triangular(1, 500, 40))
        status = rng.choices(PRODUCT_STATUSES, weights=PRODUCT_STATUS_WEIGHTS)[0]
        attributes: dict[str, Any] = {"brand": brand, "color": color, "weight_kg": weight}
        if material:
            attributes["material"] = material.lower()
        images = [
            {
                "url": f"https://img.example.com/p/{product_id}-{number}.jpg",
                "alt": f"{name}, {view}",
            }
            for number, view in enumerate(IMAGE_VIEWS[: rng.randint(1, 4)], start=1)
        ]
        letters = re.sub(r"[^A-Za-z]", "", noun).upper()
        products.rows.append(
            (
                product_id,
                f"{letters[:3]:X<3}-{product_id:06d}",
                name,
                f"{slugify(name)}-{product_id}",
                _description(rng, category, name, noun, adjective, material, brand, color, weight),
                price,
                "USD",
                stock,
                status,
                category.id,
                json.dumps(attributes),
                json.dumps(images),
                0,
                0,
                Decimal(0),
                [0, 0, 0, 0, 0],
                _ts(created_at),
                _ts(created_at),
            )
        )
        products.created.append(created_at)
        products.nouns.append(noun)
        products.statuses.append(status)
    return products


def _build_users(
    rng: Random, total: int, first_id: int, password_hash: str, start: int, end: int
) -> tuple[list[tuple[Any, ...]], list[int]]:
    created = sorted(rng.randrange(start, end) for _ in range(total))
    rows: list[tuple[Any, ...]] = []
    for index, created_at in enumerate(created):
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        email = f"user{index + 1:05d}@{SEED_EMAIL_DOMAIN}"
        at = _ts(created_at)
        rows.append((first_id + index, email, name, password_hash, "customer", True, at, at, None))
    return rows, created


def _review_counts(rng: Random, weights: list[float], total: int, cap: int) -> list[int]:
    """Draw `total` reviews over products by weight, at most `cap` (one per user) each."""
    counts = [0] * len(weights)
    remaining = total
    live = [index for index, weight in enumerate(weights) if weight > 0]
    for _ in range(50):
        live = [index for index in live if counts[index] < cap]
        if remaining == 0 or not live:
            break
        cumulative = list(itertools.accumulate(weights[index] for index in live))
        overflow = 0
        for index in rng.choices(live, cum_weights=cumulative, k=remaining):
            if counts[index] < cap:
                counts[index] += 1
            else:
                overflow += 1
        remaining = overflow
    # Only when asked for nearly every (product, user) pair: fill what is left in order.
    for index in range(len(counts)):
        if remaining == 0:
            break
        if weights[index] > 0:
            room = min(cap - counts[index], remaining)
            counts[index] += room
            remaining -= room
    return counts


def _build_reviews(
    rng: Random,
    progress: _Progress,
    products: _Products,
    user_created: list[int],
    first_user_id: int,
    total: int,
    end: int,
) -> list[tuple[Any, ...]]:
    users = len(user_created)
    reviewable = [status != "draft" for status in products.statuses]
    if sum(reviewable) * users < total:
        # Too few published products for the request: let drafts have reviews too.
        reviewable = [True] * len(reviewable)
    order = [index for index, ok in enumerate(reviewable) if ok]
    rng.shuffle(order)
    offset = 1 + len(products.statuses) / 700
    weights = [0.0] * len(reviewable)
    for rank, index in enumerate(order, start=1):
        weights[index] = 1.0 / (rank + offset) ** ZIPF_EXPONENT
    counts = _review_counts(rng, weights, total, users)

    drafted: list[tuple[Any, ...]] = []
    stars = (1, 2, 3, 4, 5)
    with progress.phase("reviews (generate)", len(counts)) as bar:
        for index, count in enumerate(counts):
            bar.advance()
            if count == 0:
                continue
            # Each product has its own quality, so averages spread instead of all being ~4.
            quality = rng.gauss(0.0, 0.3)
            cumulative = list(
                itertools.accumulate(
                    weight * math.exp(quality * (star - 3))
                    for weight, star in zip(RATING_WEIGHTS, stars, strict=True)
                )
            )
            noun = products.nouns[index].lower()
            for user, rating in zip(
                rng.sample(range(users), count),
                rng.choices(stars, cum_weights=cumulative, k=count),
                strict=True,
            ):
                # After both the product and the account existed, before the reference date.
                low = max(products.created[index], user_created[user]) + 3600
                created_at = rng.randrange(low, end)
                roll = rng.random()
                status = "approved"
                reason = None
                if roll < PENDING_SHARE:
                    status = "pending"
                elif roll < PENDING_SHARE + REJECTED_SHARE:
                    status = "rejected"
                    reason = rng.choice(MODERATION_REASONS)
                sentences = rng.sample(REVIEW_SENTENCES[rating - 1], rng.randint(1, 3))
                if rng.random() < 0.3:
                    sentences.append(
                        rng.choice(REVIEW_ASIDES).format(
                            days=rng.randint(2, 9), months=rng.randint(2, 18)
                        )
                    )
                drafted.append(
                    (
                        created_at,
                        index + 1,
                        first_user_id + user,
                        rating,
                        rng.choice(REVIEW_TITLES[rating - 1]),
                        " ".join(sentences).format(noun=noun),
                        status,
                        reason,
                    )
                )
    # Ids in creation order, as a live shop would have assigned them. (product, user) is
    # unique, so the sort never compares past the third field.
    drafted.sort()
    return [
        (number, product, user, rating, title, body, status, reason, _ts(at), _ts(at))
        for number, (at, product, user, rating, title, body, status, reason) in enumerate(
            drafted, start=1
        )
    ]


# --------------------------------------------------------------------------- loading

CATEGORY_COLUMNS = (
    "id", "parent_id", "path", "name", "slug", "description", "created_at", "updated_at",
)  # fmt: skip
PRODUCT_COLUMNS = (
    "id", "sku", "name", "slug", "description", "price", "currency", "stock", "status",
    "category_id", "attributes", "images", "rating_count", "rating_sum", "rating_average",
    "rating_histogram", "created_at", "updated_at",
)  # fmt: skip
USER_COLUMNS = (
    "id", "email", "name", "password_hash", "role", "is_active", "created_at", "updated_at",
    "last_login_at",
)  # fmt: skip
REVIEW_COLUMNS = (
    "id", "product_id", "user_id", "rating", "title", "body", "status", "moderation_reason",
    "created_at", "updated_at",
)  # fmt: skip

SEEDED_USERS_PATTERN = f"%@{SEED_EMAIL_DOMAIN}"  # LIKE pattern over lower(email)

# Explicit ids leave the identity sequences behind: move each one past its table's data.
ADVANCE_SEQUENCES = """
SELECT setval(pg_get_serial_sequence('categories', 'id'),
              (SELECT coalesce(max(id), 0) + 1 FROM categories), false),
       setval(pg_get_serial_sequence('products', 'id'),
              (SELECT coalesce(max(id), 0) + 1 FROM products), false),
       setval(pg_get_serial_sequence('users', 'id'),
              (SELECT coalesce(max(id), 0) + 1 FROM users), false),
       setval(pg_get_serial_sequence('reviews', 'id'),
              (SELECT coalesce(max(id), 0) + 1 FROM reviews), false)
"""

RATING_AGGREGATES = """
UPDATE products AS p
SET rating_count = a.n,
    rating_sum = a.total,
    rating_average = round(a.total::numeric / a.n, 2),
    rating_histogram = ARRAY[a.r1, a.r2, a.r3, a.r4, a.r5]
FROM (
    SELECT product_id,
           count(*)::int AS n,
           sum(rating)::int AS total,
           (count(*) FILTER (WHERE rating = 1))::int AS r1,
           (count(*) FILTER (WHERE rating = 2))::int AS r2,
           (count(*) FILTER (WHERE rating = 3))::int AS r3,
           (count(*) FILTER (WHERE rating = 4))::int AS r4,
           (count(*) FILTER (WHERE rating = 5))::int AS r5
    FROM reviews
    WHERE status = 'approved'
    GROUP BY product_id
) AS a
WHERE p.id = a.product_id
"""


def asyncpg_dsn(database_url: str) -> str:
    """asyncpg wants a libpq URL, not SQLAlchemy's `postgresql+asyncpg://` dialect form."""
    url = make_url(async_url(database_url)).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _validate(categories: int, products: int, users: int, reviews: int) -> None:
    if min(categories, products, users, reviews) < 0:
        raise SeedError("sizes must not be negative")
    if categories < 3:
        raise SeedError("--categories must be at least 3 (the tree has three levels)")
    if reviews > products * users:
        raise SeedError(
            f"{reviews} reviews do not fit: each of the {users} users can review each of the "
            f"{products} products once (at most {products * users})"
        )


async def _refuse_unless_empty(connection: Any) -> None:
    row = await connection.fetchrow(
        "SELECT (SELECT count(*) FROM categories) AS categories,"
        " (SELECT count(*) FROM products) AS products,"
        " (SELECT count(*) FROM reviews) AS reviews,"
        " (SELECT count(*) FROM users WHERE lower(email) LIKE $1) AS seeded_users",
        SEEDED_USERS_PATTERN,
    )
    found = {key: int(value) for key, value in row.items() if value}
    if found:
        listed = ", ".join(f"{count} {key.replace('_', ' ')}" for key, count in found.items())
        raise CatalogNotEmptyError(
            f"the catalog is not empty ({listed}); seeding writes fixed ids, so it needs empty "
            "tables: pass --reset to delete the catalog, its reviews and the seeded users first"
        )


async def _copy(
    connection: Any, progress: _Progress, table: str, columns: Sequence[str], rows: Sequence[Any]
) -> None:
    await connection.copy_records_to_table(
        table, columns=list(columns), records=progress.track(table, rows)
    )


async def seed_catalog(
    database_url: str,
    *,
    categories: int,
    products: int,
    users: int,
    reviews: int,
    seed: int,
    progress: bool = True,
    reset: bool = False,
) -> SeedSummary:
    """Fill an empty catalog with a deterministic dataset; `reset` empties it first.

    Same arguments, same rows: ids, names, timestamps and all, except the seeded users'
    password hash (argon2 salts it at random; the password is SEED_PASSWORD). Seeded users
    (emails @seed.example.com) take the ids after the existing accounts, so their ids repeat
    as long as the other accounts do.

    Raises CatalogNotEmptyError when categories, products, reviews or seeded users exist and
    `reset` is false, and SeedError for impossible sizes. Everything happens in one
    transaction, then the tables are analyzed.
    """
    _validate(categories, products, users, reviews)
    started = time.perf_counter()
    bars = _Progress(progress)
    # Reproducible on purpose (S311 is about secrets): the seed is the whole point.
    rng = Random(seed)  # noqa: S311
    start = int((REFERENCE_DATE - HISTORY).timestamp())
    end = int(REFERENCE_DATE.timestamp())
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        async with connection.transaction():
            if reset:
                await connection.execute("TRUNCATE reviews, products, categories RESTART IDENTITY")
                await connection.execute(
                    "DELETE FROM users WHERE lower(email) LIKE $1", SEEDED_USERS_PATTERN
                )
            # Nobody may add rows while we pick ids; readers are not blocked.
            await connection.execute(
                "LOCK TABLE categories, products, reviews, users IN SHARE ROW EXCLUSIVE MODE"
            )
            await _refuse_unless_empty(connection)
            # Users are shared with real accounts (the demo admin): seeded ones go after them.
            last_id = await connection.fetchval("SELECT coalesce(max(id), 0) FROM users")
            first_user_id = int(last_id) + 1
            # One hash for every seeded user: argon2 is deliberately slow (~50 ms each).
            password_hash = await hash_password(SEED_PASSWORD)

            tree = _build_categories(rng, categories, start)
            category_rows = [category.row() for category in tree]
            await _copy(connection, bars, "categories", CATEGORY_COLUMNS, category_rows)
            # Products appear after the tree is built (the first four weeks) up to two days
            # before the reference date, so every one can have reviews after it.
            catalog = _build_products(rng, tree, products, start + 28 * 86400, end - 2 * 86400)
            await _copy(connection, bars, "products", PRODUCT_COLUMNS, catalog.rows)
            user_rows, user_created = _build_users(
                rng, users, first_user_id, password_hash, start, end - 86400
            )
            await _copy(connection, bars, "users", USER_COLUMNS, user_rows)
            review_rows = _build_reviews(
                rng, bars, catalog, user_created, first_user_id, reviews, end
            )
            await _copy(connection, bars, "reviews", REVIEW_COLUMNS, review_rows)

            await connection.execute(ADVANCE_SEQUENCES)
            with bars.phase("ratings"):
                await connection.execute(RATING_AGGREGATES)
            totals = await connection.fetchrow(
                "SELECT (SELECT count(*) FROM reviews WHERE status = 'approved') AS approved,"
                " (SELECT count(*) FROM products WHERE rating_count > 0) AS rated"
            )
        # Statistics now rather than whenever autovacuum gets round to it, so the very first
        # queries are planned for the real sizes; after commit, so no lock is held meanwhile.
        with bars.phase("analyze"):
            await connection.execute("ANALYZE categories, products, users, reviews")
    finally:
        await connection.close()
    return SeedSummary(
        categories=len(category_rows),
        products=len(catalog.rows),
        users=len(user_rows),
        reviews=len(review_rows),
        approved_reviews=int(totals["approved"]),
        rated_products=int(totals["rated"]),
        seed=seed,
        password=SEED_PASSWORD,
        elapsed_seconds=time.perf_counter() - started,
    )


async def seed_dev_catalog(database_url: str) -> SeedSummary | None:
    """`make dev`: a small catalog the first time; None (nothing done) once there is one."""
    try:
        return await seed_catalog(
            database_url,
            categories=30,
            products=300,
            users=50,
            reviews=1500,
            seed=42,
            progress=False,
        )
    except CatalogNotEmptyError:
        return None
