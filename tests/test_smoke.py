from jaunt.templates import Template


def test_render_inserts_values_verbatim() -> None:
    assert Template("a {{x}} b").render({"x": "{{x}}"}) == "a {{x}} b"
