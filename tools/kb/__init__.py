"""催收知识库 tooling: the validation and rendering logic shared by hooks, CLIs and tests."""
