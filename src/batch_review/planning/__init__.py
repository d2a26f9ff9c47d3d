"""What a request is and what it costs: the model contract, the change rendered as the model reads it, a
target's files packed into requests, the wire formats, token counts, prices and the budget guard. Pure (tokenizer.py reads a local
encoding file when one is given); imports only the core."""
