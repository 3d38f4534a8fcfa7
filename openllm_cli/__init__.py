"""``openllm``: the command-line client of the OpenLLM Europe contribution
platform. A plain Python program (the standard library and PyYAML): it
speaks to the site's REST API and never imports Django."""

__version__ = "0.1.0"
