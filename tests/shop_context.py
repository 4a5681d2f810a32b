"""The small build context the backend and ``generate`` tests send to the scripted server."""

from jaunt.generate.base import ModuleSpecContext
from jaunt.spec_ref import SpecRef

SHOP_CTX = ModuleSpecContext(
    kind="build",
    spec_module="shop.pricing",
    generated_module="shop.__generated__.pricing",
    expected_names=["apply_discount", "Cart"],
    spec_sources={
        SpecRef("shop.pricing:apply_discount"): "def apply_discount(price, percent):\n    ...",
        SpecRef("shop.pricing:Cart"): "class Cart:\n    ...",
    },
    decorator_prompts={},
    dependency_apis={},
    dependency_generated_modules={},
)
