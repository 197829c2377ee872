"""Word lists the demo catalogue is generated from: departments, categories, names, features."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LeafSpec:
    name: str
    median_price: float  # dollars; prices are log-normal around it
    nouns: tuple[str, ...]
    qualifiers: tuple[str, ...]
    features: tuple[str, ...]
    price_sigma: float = 0.45


@dataclass(frozen=True)
class DepartmentSpec:
    name: str
    slug: str
    leaves: tuple[LeafSpec, ...]


L = LeafSpec

# fmt: off
DEPARTMENTS: tuple[DepartmentSpec, ...] = (
    DepartmentSpec("Electronics", "electronics", (
        L("Headphones", 89, ("Over-Ear Headphones", "Wireless Earbuds", "On-Ear Headphones", "Sport Earphones"),
          ("Wireless", "Noise-Cancelling", "Studio", "Compact", "Bass"),
          ("40-hour battery life", "active noise cancelling", "USB-C fast charging", "memory-foam ear cushions",
           "multipoint Bluetooth 5.3", "a foldable travel design")),
        L("Smartphones", 420, ("Smartphone", "5G Phone", "Mini Phone"),
          ("Pro", "Lite", "Max", "Edge", "Plus"),
          ("a 6.1-inch OLED display", "a triple-lens camera", "all-day battery", "128 GB of storage",
           "IP68 water resistance", "wireless charging"), 0.5),
        L("Laptops", 899, ("Laptop", "Ultrabook", "Notebook", "2-in-1 Laptop"),
          ("Slim", "Pro", "Creator", "Air", "Performance"),
          ("a 14-inch 2.8K display", "16 GB of RAM", "a 1 TB SSD", "a backlit keyboard", "18-hour battery life",
           "Thunderbolt 4 ports"), 0.4),
        L("Cameras", 540, ("Mirrorless Camera", "Action Camera", "Compact Camera", "Instant Camera"),
          ("4K", "Travel", "Vlog", "Rugged", "Classic"),
          ("a 24 MP sensor", "in-body stabilisation", "4K60 video", "a flip-out screen", "weather sealing",
           "fast hybrid autofocus"), 0.7),
        L("Smart Home", 59, ("Smart Speaker", "Smart Plug", "Video Doorbell", "Smart Thermostat", "Smart Bulb"),
          ("Mini", "Home", "Connected", "Voice"),
          ("voice control", "energy monitoring", "an easy app setup", "works with major assistants",
           "scheduled routines", "two-way audio"), 0.6),
        L("Chargers & Cables", 19, ("USB-C Cable", "Wall Charger", "Power Bank", "Wireless Charging Pad"),
          ("Braided", "65W", "Fast", "Travel", "Dual-Port"),
          ("a braided nylon jacket", "GaN fast charging", "a 10,000 mAh cell", "a 2 m length",
           "foldable plug pins", "overheat protection"), 0.5),
    )),
    DepartmentSpec("Home & Kitchen", "home-kitchen", (
        L("Cookware", 65, ("Frying Pan", "Saucepan", "Dutch Oven", "Wok", "Stock Pot"),
          ("Cast-Iron", "Non-Stick", "Stainless", "Enamelled", "Carbon-Steel"),
          ("an oven-safe handle", "induction compatibility", "even heat distribution", "a tight-fitting lid",
           "a PFAS-free coating", "a lifetime warranty")),
        L("Coffee & Tea", 34, ("Espresso Machine", "Pour-Over Set", "French Press", "Burr Grinder", "Tea Kettle"),
          ("Barista", "Classic", "Precision", "Gooseneck", "Compact"),
          ("15-bar pressure", "40 grind settings", "a temperature-hold function", "a borosilicate carafe",
           "a double-wall body", "a reusable steel filter"), 0.8),
        L("Kitchen Knives", 49, ("Chef's Knife", "Santoku Knife", "Paring Knife", "Knife Block Set", "Bread Knife"),
          ("Japanese", "Forged", "Damascus", "Everyday", "Pro"),
          ("a high-carbon steel blade", "a full-tang handle", "a 15-degree edge", "a balanced weight",
           "a protective sheath", "a hand-honed finish")),
        L("Bedding", 79, ("Duvet Cover", "Sheet Set", "Pillow", "Weighted Blanket", "Mattress Topper"),
          ("Linen", "Percale", "Organic Cotton", "Bamboo", "Cooling"),
          ("breathable 300-thread-count cotton", "a stone-washed finish", "hidden button closures",
           "OEKO-TEX certified fabric", "deep pockets", "hypoallergenic fill")),
        L("Lighting", 45, ("Desk Lamp", "Floor Lamp", "Pendant Light", "LED Strip", "Table Lamp"),
          ("Dimmable", "Nordic", "Industrial", "Minimal", "Warm"),
          ("a warm 2700K glow", "touch dimming", "an adjustable arm", "a linen shade", "an energy-saving LED",
           "a weighted base")),
        L("Storage", 25, ("Storage Box", "Shelf Organiser", "Laundry Basket", "Spice Rack", "Drawer Divider"),
          ("Stackable", "Woven", "Bamboo", "Clear", "Modular"),
          ("stackable lids", "a natural seagrass weave", "a space-saving design", "labels included",
           "easy-clean surfaces", "sturdy handles")),
    )),
    DepartmentSpec("Sports & Outdoors", "sports-outdoors", (
        L("Running Shoes", 110, ("Running Shoe", "Trail Runner", "Racing Flat", "Training Shoe"),
          ("Cushioned", "Lightweight", "Tempo", "Stability", "Carbon"),
          ("a responsive foam midsole", "a breathable mesh upper", "a grippy rubber outsole", "an 8 mm drop",
           "reflective details", "a padded heel collar"), 0.35),
        L("Camping", 75, ("Tent", "Sleeping Bag", "Camping Stove", "Headlamp", "Camp Chair"),
          ("Ultralight", "Two-Person", "Three-Season", "Compact", "Expedition"),
          ("a waterproof flysheet", "a packed weight under 2 kg", "a comfort rating of 2°C",
           "a rechargeable battery", "quick-pitch poles", "a stuff sack included"), 0.7),
        L("Cycling", 60, ("Bike Helmet", "Bike Light Set", "Cycling Jersey", "Saddle Bag", "Floor Pump"),
          ("Aero", "Commuter", "Gravel", "Road", "Urban"),
          ("MIPS protection", "USB rechargeable lights", "a race fit", "reflective trims", "a 160 psi gauge",
           "tool-free mounting"), 0.6),
        L("Yoga & Fitness", 35, ("Yoga Mat", "Resistance Band Set", "Kettlebell", "Foam Roller", "Jump Rope"),
          ("Eco", "Non-Slip", "Pro", "Travel", "Adjustable"),
          ("a 6 mm cushioned surface", "natural tree rubber", "a carry strap", "five resistance levels",
           "a textured grip", "a printed alignment guide")),
        L("Swimming", 28, ("Swim Goggles", "Swimsuit", "Swim Cap", "Kickboard", "Swim Fins"),
          ("Anti-Fog", "Competition", "Chlorine-Resistant", "Open-Water", "Training"),
          ("anti-fog lenses", "UV protection", "quick-dry fabric", "an adjustable strap", "a hydrodynamic cut",
           "a soft silicone seal")),
        L("Hiking", 95, ("Hiking Boot", "Daypack", "Trekking Poles", "Rain Jacket", "Water Bottle"),
          ("Waterproof", "Alpine", "Trail", "Lightweight", "Insulated"),
          ("a waterproof membrane", "a ventilated back panel", "carbon shafts", "taped seams",
           "a Vibram outsole", "double-wall insulation"), 0.6),
    )),
    DepartmentSpec("Fashion", "fashion", (
        L("T-Shirts", 24, ("Crew-Neck T-Shirt", "V-Neck Tee", "Pocket Tee", "Long-Sleeve Tee", "Graphic Tee"),
          ("Organic", "Heavyweight", "Slim-Fit", "Relaxed", "Everyday"),
          ("100% organic cotton", "a pre-shrunk fabric", "a reinforced collar", "a relaxed fit",
           "garment-dyed colour", "a soft brushed finish"), 0.35),
        L("Jackets", 140, ("Puffer Jacket", "Denim Jacket", "Rain Shell", "Bomber Jacket", "Fleece Jacket"),
          ("Recycled", "Packable", "Classic", "Quilted", "Windproof"),
          ("recycled down fill", "a water-repellent finish", "zip hand pockets", "a packable hood",
           "a two-way zip", "a regular fit"), 0.45),
        L("Sneakers", 85, ("Low-Top Sneaker", "High-Top Sneaker", "Court Shoe", "Slip-On"),
          ("Leather", "Canvas", "Retro", "Vegan", "Everyday"),
          ("a cupsole construction", "a cushioned insole", "premium leather", "vegan materials",
           "a vulcanised sole", "a padded tongue"), 0.35),
        L("Bags", 65, ("Backpack", "Tote Bag", "Crossbody Bag", "Weekender", "Laptop Sleeve"),
          ("Canvas", "Leather", "Roll-Top", "Minimal", "Commuter"),
          ("a padded 15-inch laptop pocket", "a water-resistant canvas", "brass hardware",
           "an adjustable strap", "a hidden back pocket", "a 20-litre capacity")),
        L("Watches", 160, ("Automatic Watch", "Field Watch", "Dress Watch", "Chronograph", "Smartwatch"),
          ("Classic", "Diver", "Minimal", "Titanium", "Sport"),
          ("a sapphire crystal", "100 m water resistance", "a Japanese movement", "a stainless-steel case",
           "a quick-release strap", "luminous hands"), 0.6),
        L("Socks & Underwear", 14, ("Socks 3-Pack", "Boxer Briefs", "Ankle Socks", "Wool Socks"),
          ("Merino", "Cotton", "Everyday", "Sport", "Seamless"),
          ("merino wool blend", "a cushioned sole", "a no-slip heel", "breathable fabric", "flat seams",
           "a comfortable waistband"), 0.35),
    )),
    DepartmentSpec("Books & Games", "books-games", (
        L("Fiction", 16, ("Novel", "Short Stories", "Thriller", "Mystery", "Fantasy Epic"),
          ("Bestselling", "Award-Winning", "Debut", "Illustrated", "Collector's"),
          ("a gripping plot", "an unforgettable narrator", "a twist you won't see coming",
           "a paperback edition", "a foreword by the author", "a reading-group guide"), 0.3),
        L("Cookbooks", 28, ("Cookbook", "Baking Book", "Vegetarian Kitchen", "Weeknight Dinners"),
          ("Essential", "Illustrated", "Seasonal", "Quick", "Family"),
          ("over 100 recipes", "step-by-step photos", "pantry-friendly ingredients", "a lay-flat binding",
           "menus for every season", "tips from professional chefs"), 0.3),
        L("Science & Nature", 22, ("Popular Science Book", "Field Guide", "Atlas", "Nature Journal"),
          ("Illustrated", "Pocket", "Complete", "Essential", "Curious"),
          ("hundreds of illustrations", "clear explanations", "a pocket format", "detailed maps",
           "an index of species", "a glossary"), 0.35),
        L("Children's Books", 12, ("Picture Book", "Bedtime Stories", "Activity Book", "First Reader"),
          ("Illustrated", "Rhyming", "Lift-the-Flap", "Colourful", "Classic"),
          ("bright illustrations", "sturdy board pages", "a rhyming story", "stickers inside",
           "ages 3 and up", "a read-aloud rhythm"), 0.35),
        L("Board Games", 38, ("Strategy Game", "Party Game", "Cooperative Game", "Card Game", "Puzzle"),
          ("Family", "Classic", "Deluxe", "Travel", "Expansion"),
          ("2-6 players", "45-minute games", "beautiful artwork", "easy-to-learn rules",
           "hours of replay value", "1,000 pieces"), 0.45),
        L("Notebooks & Stationery", 15, ("Notebook", "Fountain Pen", "Planner", "Sketchbook", "Pencil Set"),
          ("Dotted", "Hardcover", "Premium", "Pocket", "Recycled"),
          ("100 gsm paper", "a lay-flat binding", "a ribbon bookmark", "an elastic closure",
           "fountain-pen friendly paper", "a refillable cartridge"), 0.4),
    )),
    DepartmentSpec("Beauty & Health", "beauty-health", (
        L("Skincare", 26, ("Face Serum", "Moisturiser", "Cleanser", "Sunscreen SPF 50", "Eye Cream"),
          ("Hydrating", "Vitamin C", "Gentle", "Retinol", "Fragrance-Free"),
          ("hyaluronic acid", "a lightweight texture", "dermatologist-tested formula", "no added fragrance",
           "a recyclable bottle", "niacinamide"), 0.45),
        L("Hair Care", 18, ("Shampoo", "Conditioner", "Hair Oil", "Hair Mask", "Hair Dryer"),
          ("Repairing", "Volumising", "Curl", "Sulphate-Free", "Ionic"),
          ("argan oil", "a sulphate-free formula", "heat protection", "a salon finish", "a refill pouch",
           "three heat settings"), 0.7),
        L("Fragrance", 68, ("Eau de Parfum", "Eau de Toilette", "Scented Candle", "Body Mist"),
          ("Citrus", "Woody", "Floral", "Amber", "Fresh"),
          ("notes of bergamot and cedar", "a long-lasting trail", "a refillable bottle",
           "a hand-poured soy wax", "a 50 ml bottle", "a gift box"), 0.4),
        L("Vitamins", 19, ("Multivitamin", "Vitamin D3", "Magnesium", "Omega-3", "Probiotic"),
          ("Daily", "High-Strength", "Vegan", "Chewable", "Slow-Release"),
          ("a 90-day supply", "vegan capsules", "third-party testing", "no artificial colours",
           "easy-to-swallow tablets", "a recyclable pot"), 0.35),
        L("Oral Care", 22, ("Electric Toothbrush", "Water Flosser", "Toothpaste", "Replacement Heads"),
          ("Sonic", "Whitening", "Sensitive", "Travel", "Smart"),
          ("a two-minute timer", "a pressure sensor", "a travel case", "fluoride protection",
           "a 30-day battery", "soft bristles"), 0.7),
        L("Bath & Body", 14, ("Body Wash", "Hand Cream", "Bath Salts", "Body Lotion", "Soap Bar"),
          ("Nourishing", "Lavender", "Oat", "Shea", "Eucalyptus"),
          ("shea butter", "essential oils", "a cold-processed bar", "a non-greasy feel",
           "a pump bottle", "plastic-free packaging"), 0.4),
    )),
)

BRAND_FIRST = (
    "Nor", "Alt", "Kes", "Lum", "Ver", "Sol", "Bri", "Hal", "Mar", "Cor", "Fen", "Oak", "Ari", "Tal",
    "Zen", "Vel", "Pax", "Ori", "Quin", "Rho", "Sky", "Tor", "Umb", "Wil",
)
BRAND_LAST = ("vik", "ura", "trel", "ino", "dale", "stead", "ora", "wick", "ton", "lux", "berg", "ella", "ano", "mont")
BRAND_SUFFIX = ("", "", "", " & Co.", " Labs", " Studio", " Works", " Supply")

MODEL_CODES = ("100", "200", "300", "S", "X", "II", "Pro", "Plus", "Mini", "Max", "Air", "One", "2", "3", "Go")

DESCRIPTION_OPENERS = (
    "Designed for everyday use, the {name} brings together {f1} and {f2}.",
    "The {name} combines {f1} with {f2}, so it simply works.",
    "Meet the {name}: {f1}, {f2} and nothing you don't need.",
    "Made to last, the {name} features {f1} and {f2}.",
)
DESCRIPTION_CLOSERS = (
    "Backed by a two-year warranty.",
    "Loved by our customers for its value.",
    "A thoughtful gift, or a treat for yourself.",
    "Carefully packed in plastic-free packaging.",
    "One of our team's favourites this season.",
    "Pairs well with the rest of the {brand} range.",
)

FIRST_NAMES = (
    "Ava", "Ben", "Chloe", "Daniel", "Ella", "Finn", "Grace", "Hugo", "Isla", "Jack", "Kira", "Leo", "Maya",
    "Noah", "Olivia", "Priya", "Quinn", "Rosa", "Sam", "Tara", "Umar", "Vera", "Will", "Xenia", "Yusuf", "Zoe",
    "Amir", "Bea", "Carlos", "Dana", "Emil", "Fatima", "Gus", "Hana", "Ivan", "Julia", "Kofi", "Lena", "Mateo",
)
LAST_NAMES = (
    "Smith", "Garcia", "Nguyen", "Okafor", "Müller", "Rossi", "Kowalski", "Tanaka", "Silva", "Khan", "Dubois",
    "Jensen", "Novak", "Patel", "Cohen", "Murphy", "Larsen", "Santos", "Ibrahim", "Fischer", "Costa", "Lee",
)
STREETS = ("High Street", "Station Road", "Park Lane", "Mill Road", "Church Street", "Elm Avenue", "Harbour Way")
CITIES = ("Springfield", "Riverton", "Lakeside", "Fairview", "Brookhaven", "Hillcrest", "Maplewood")
# fmt: on

MAX_LEAVES = sum(len(d.leaves) for d in DEPARTMENTS)
