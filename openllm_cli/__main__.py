"""``python -m openllm_cli``, the same as the ``openllm`` command."""

from .main import main

raise SystemExit(main())
