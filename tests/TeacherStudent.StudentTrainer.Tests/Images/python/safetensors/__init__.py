"""A minimal stand-in for the safetensors package, which is not installable on these machines (no PyPI).

Only safetensors.torch.load_file, written by hand from the format's description; the tests put this
directory on PYTHONPATH so that the documented snippet's `from safetensors.torch import load_file` runs.
"""
