"""People vocabulary: customers' names, what they write in reviews, why moderators reject."""

from __future__ import annotations

# The word lists are laid out by hand, several entries a line; the formatter would give each
# its own line and turn a screenful into ten.
# fmt: off
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
