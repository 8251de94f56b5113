"""Outside formats, each an adapter kept outside the model: llama2.c today."""
