"""Departments five to ten, in tree order: they follow the first four in `DEPARTMENTS`."""

from __future__ import annotations

from app.seed.vocabulary_catalog import Department

# The word lists are laid out by hand, several entries a line; the formatter would give each
# its own line and turn a screenful into ten.
# fmt: off
MORE_DEPARTMENTS: tuple[Department, ...] = (
    Department(
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
    Department(
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
    Department(
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
    Department(
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
    Department(
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
    Department(
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
# fmt: on
