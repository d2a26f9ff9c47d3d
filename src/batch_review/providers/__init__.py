"""The batch services behind one small interface (base.py: BatchProvider, BatchState): OpenAI and
Azure OpenAI (openai_batches.py), Anthropic's Message Batches (anthropic_batches.py). Each SDK is imported
only by its own module, and only when a command first talks to that service."""
