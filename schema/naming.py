"""Field and argument names: snake_case in Python, camelCase in GraphQL, converted once.

Strawberry converts argument names again on every resolver call; with thousands of fields per
response that showed up in profiles, so conversions are cached (the set of names is finite).
"""

from __future__ import annotations

from functools import lru_cache

from strawberry.schema.name_converter import NameConverter
from strawberry.utils.str_converters import to_camel_case

_camel_case = lru_cache(maxsize=4096)(to_camel_case)


class CachedNameConverter(NameConverter):
    def apply_naming_config(self, name: str) -> str:
        return _camel_case(name) if self.auto_camel_case else name
