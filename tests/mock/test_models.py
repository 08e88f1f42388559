from __future__ import annotations

import openai
import pytest

from tests.mock.wire import assert_no_extras


def test_list_and_retrieve(client: openai.OpenAI) -> None:
    models = list(client.models.list())
    ids = {m.id for m in models}
    assert {"mock-gpt", "gpt-4o", "gpt-4o-mini", "text-embedding-3-large"} <= ids
    for model in models:
        assert model.object == "model"
        assert_no_extras(model)
    assert client.models.retrieve("gpt-4o").id == "gpt-4o"


async def test_unknown_model_is_404(async_client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        await async_client.models.retrieve("no-such-model")
    assert caught.value.code == "model_not_found"
    assert caught.value.status_code == 404
