"""The complexity score and the bounded token count through the binding."""

from __future__ import annotations

from palisade._core import count_tokens, prompt_complexity

CODING_TASK = """Write a Python function that parses a CSV file of orders. Requirements:
1. Skip malformed rows and report them.
2. Group the orders by customer.
3. Return the top 5 customers by revenue.
Analyze the time complexity, and explain why your design handles files larger than memory.
```python
def top_customers(path: str) -> list[tuple[str, float]]:
    ...
```"""

PROOF_TASK = (
    "Prove that there are infinitely many primes, then derive an upper bound for the n-th "
    "prime step by step. Is the bound tight? Why or why not?"
)


def test_a_greeting_and_a_one_line_question_score_low() -> None:
    for text in ("Hello!", "Good morning, how are you?", "What is the capital of Japan?"):
        tokens, score = prompt_complexity(text)
        assert score is not None
        assert score < 0.05, (text, score)
        assert tokens == count_tokens(text)


def test_multi_part_coding_and_proof_tasks_score_high() -> None:
    for text in (CODING_TASK, PROOF_TASK):
        score = prompt_complexity(text)[1]
        assert score is not None
        assert score > 0.6, text


def test_the_score_is_deterministic_and_bounded() -> None:
    text = CODING_TASK * 40
    tokens, score = prompt_complexity(text)
    assert prompt_complexity(text) == (tokens, score)
    assert score is not None
    assert 0.0 <= score <= 1.0


def test_counting_stops_past_the_bound_and_is_exact_below_it() -> None:
    text = "The quick brown fox jumps over the lazy dog. " * 500  # ~20 KB: the GIL is released
    full = count_tokens(text)
    assert prompt_complexity(text, "gpt-4o", full)[0] == full
    assert prompt_complexity(text, "gpt-4o")[0] == full
    cut, score = prompt_complexity(text, "gpt-4o", 500)
    assert 500 < cut < full
    assert score is None  # past the bound the scan is skipped
    # Within the bound, the score does not depend on it.
    assert prompt_complexity(text, "gpt-4o", full)[1] == prompt_complexity(text)[1]


def test_the_model_picks_the_encoding() -> None:
    text = "naïve café résumé " * 20
    assert prompt_complexity(text, "gpt-4")[0] == count_tokens(text, "cl100k_base")
    assert prompt_complexity(text, "gpt-4o")[0] == count_tokens(text, "o200k_base")
