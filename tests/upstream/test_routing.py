import pytest

from palisade.config import ProviderConfig
from palisade.errors import BadRequest, ModelNotFound, NotFound
from palisade.upstream.routing import Router, Target


def provider(name: str, models: tuple[str, ...], priority: int = 0) -> ProviderConfig:
    return ProviderConfig(name=name, base_url=f"http://{name}", models=models, priority=priority)


MOCK = provider("mock", ("mock-*", "gpt-4o", "text-embedding-3-small"))
OPENAI = provider("openai", ("gpt-*", "o3*"), priority=100)


def test_prefix_names_the_provider_and_is_stripped() -> None:
    target = Router((MOCK, OPENAI)).resolve("mock:anything/at:all")
    assert target.provider is MOCK
    assert target.model == "anything/at:all"
    assert target.rewritten


def test_a_colon_that_is_not_a_provider_prefix_is_part_of_the_name() -> None:
    ollama = provider("ollama", ("llama3:*",))
    target = Router((ollama,)).resolve("llama3:8b")
    assert (target.provider, target.model, target.rewritten) == (ollama, "llama3:8b", False)


def test_higher_priority_pattern_beats_lower_priority_exact_name() -> None:
    router = Router((MOCK, OPENAI))
    assert router.resolve("gpt-4o").provider is OPENAI
    assert router.resolve("text-embedding-3-small").provider is MOCK
    assert router.resolve("mock-gpt").provider is MOCK


def test_exact_name_beats_pattern_at_equal_priority() -> None:
    wide = provider("wide", ("*",))
    narrow = provider("narrow", ("special",))
    router = Router((wide, narrow))
    assert router.resolve("special").provider is narrow
    assert router.resolve("other").provider is wide


def test_file_order_breaks_ties_between_patterns() -> None:
    a, b = provider("a", ("x-*",)), provider("b", ("x-*",))
    assert Router((a, b)).resolve("x-1").provider is a


def test_unknown_model_is_a_404_naming_the_param() -> None:
    with pytest.raises(ModelNotFound) as info:
        Router((MOCK,)).resolve("claude-9")
    assert info.value.status == 404
    assert info.value.code == "model_not_found"
    assert info.value.param == "model"
    assert Router((MOCK,)).provider_for("claude-9") is None


GROQ = provider("groq", ())


def test_a_pinned_route_sends_any_model_to_its_provider_as_it_is() -> None:
    router = Router((MOCK, OPENAI, GROQ))
    target = router.resolve_pinned("gpt-4o", "groq")  # OPENAI claims it elsewhere
    assert (target.provider, target.model, target.rewritten) == (GROQ, "gpt-4o", False)
    target = router.resolve_pinned("groq:llama-3.3-70b", "groq")
    assert (target.provider, target.model, target.rewritten) == (GROQ, "llama-3.3-70b", True)
    # A colon that names no provider is part of the model's name (Ollama's tags).
    assert router.resolve_pinned("llama3:8b", "groq").model == "llama3:8b"


def test_a_pinned_route_refuses_a_model_that_names_another_provider() -> None:
    router = Router((MOCK, GROQ))
    with pytest.raises(BadRequest) as info:
        router.resolve_pinned("mock:gpt-4o", "groq")
    assert info.value.code == "provider_mismatch"
    assert info.value.param == "model"


def test_a_pin_that_names_no_configured_provider_is_404() -> None:
    with pytest.raises(NotFound) as info:
        Router((MOCK,)).resolve_pinned("m", "groq")
    assert info.value.status == 404
    assert info.value.code == "provider_not_found"


def test_pinned_and_unpinned_resolutions_are_memoised_apart() -> None:
    router = Router((MOCK, GROQ))
    assert router.resolve_pinned("mock-x", "groq").provider is GROQ
    assert router.resolve("mock-x").provider is MOCK
    assert router.resolve_pinned("mock-x", "groq").provider is GROQ


def test_aliases_rename_the_model_for_its_provider() -> None:
    azure = ProviderConfig(
        name="az", base_url="http://az", models=("gpt-4o",), aliases={"gpt-4o": "prod-4o"}
    )
    router = Router((azure,))
    assert router.resolve("gpt-4o") == Target(azure, "prod-4o", rewritten=True)
    assert router.resolve("az:gpt-4o") == Target(azure, "prod-4o", rewritten=True)
    assert router.resolve("az:other") == Target(azure, "other", rewritten=True)
    assert router.resolve_pinned("gpt-4o", "az") == Target(azure, "prod-4o", rewritten=True)
