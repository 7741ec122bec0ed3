"""The CPU fast path: faster exact implementations of Time-LLM's parts (``--fast_path 1``).

Each module computes what a plain module of ``layers/`` computes, to float rounding; which one
a model runs is chosen once, by :mod:`layers.fast.options`:

| module | job |
|---|---|
| ``options`` | ``PlainPath`` / ``FastPath``: the one options object, building every part |
| ``stamp`` | ``Stamp``: when a cached value is stale (every cache below uses it) |
| ``prompt`` | batched prompt statistics and text, cached tokenisation |
| ``mapping`` | the mapping layer as two hand-written GEMMs over a weight in the faster layout |
| ``reprogramming`` | reprogramming from score maps; prototype tensors kept in evaluation; the attention in cache-sized slices in training, one SDPA kernel in evaluation; the head's input sliced before it is copied |
| ``backbones`` | the backbone's pass: no stored maps, the prompt as a KV cache |
| ``prompt_cache`` | the prompt KV cache with its run-wide shared prefix |
| ``llama_lean`` | a lean runner of LLaMA-family layers over a cached prefix |
| ``onednn`` | oneDNN linears with fused epilogues for the frozen backbone |
"""
