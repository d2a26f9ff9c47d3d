"""`batch-review eval`: the repository's own history scores what the reviewer would have caught (mining,
one batch built as submit builds it, scores, report). A journey over submit's and poll's building blocks;
neither of them imports it."""
