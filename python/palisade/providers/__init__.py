"""One package per dialect (`openai/`, `anthropic/`), the protocol they share (`base.py`) and the
providers the gateway knows by name (`catalog.py`)."""
