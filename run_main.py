"""Command-line entry point: parse the flags and hand them to ``exp.exp_main.run``, which builds
the one validated run configuration (``exp/config.py``) and trains.

Flag names and meanings follow the Time-LLM reference (``run_main.py``) so its scripts read
the same here; flags nothing reads were dropped and ours are grouped at the end of each
section. Every user-caused error ends as one line on stderr and exit status 2.
"""
from __future__ import annotations

import argparse
import shlex
import sys

from exp.exp_main import run
from utils.errors import UserError


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (also used by tests to check every script line parses)."""
    p = argparse.ArgumentParser(description="Time-LLM and baselines: train, evaluate, reproduce")
    add = p.add_argument

    # basic config
    add("--task_name", default="long_term_forecast",
        help="long_term_forecast | short_term_forecast")
    add("--is_training", type=int, default=1, help="1: train then test; 0: test a saved checkpoint")
    add("--do_predict", type=int, default=0, choices=[0, 1],
        help="1: also forecast pred_len steps past the end of the data file (forecast.csv)")
    add("--model_id", default="test", help="free-form run id, part of the setting string")
    add("--model_comment", default="none", help="prefix appended to the setting string")
    add("--model", default="TimeLLM", help="model name (see models/__init__.py)")
    add("--seed", type=int, default=2021, help="random seed")

    # data loader
    add("--data", default="ETTh1", help="dataset name (see data_provider/data_factory.py)")
    add("--root_path", default="./dataset/ETT-small/", help="folder of the data file")
    add("--data_path", default="ETTh1.csv", help="data file name")
    add("--features", default="M", choices=["M", "S", "MS"],
        help="M: multivariate -> multivariate, S: univariate -> univariate, MS: multivariate -> univariate")
    add("--target", default="OT", help="target column for S / MS")
    add("--freq", default="h", help="time-feature frequency: s, t, h, d, b, w, m (or 15min, ...)")
    add("--embed", default="timeF", help="time features: timeF (normalised) | fixed | learned (integers)")
    add("--checkpoints", default="./checkpoints/", help="where checkpoints are written (never deleted)")
    add("--percent", type=int, default=100, help="few-shot: percentage of the training split to use")
    add("--seasonal_patterns", default="Monthly", help="M4 subset: Yearly ... Hourly")
    add("--test_drop_last", type=int, default=0,
        help="1: drop the last incomplete test batch like the reference (loses test samples)")
    add("--channel_independence", type=int, default=-1,
        help="1: one channel per sample, 0: all channels per sample, -1: the model's default")
    add("--m4_val_from_test", type=int, default=0,
        help="M4: 1 validates on the test set like the reference (peeks); 0 holds out the last H points")
    add("--test_data", default=None, help="zero-shot: dataset name to test on (default: --data)")
    add("--test_root_path", default=None, help="zero-shot: folder of the test data file")
    add("--test_data_path", default=None, help="zero-shot: test data file name")
    add("--id_col", default="unique_id", help="--data long: the column of series ids")
    add("--time_col", default="ds", help="--data long: the column of dates")
    add("--value_col", default="y", help="--data long: the column of values")
    add("--test_rows", type=int, default=0,
        help="--data long: the last N rows of every series are its test part and the N before "
             "them its validation part (0: the 70/10/20 split of custom data)")
    add("--date_unit", default="s", choices=["s", "ms", "us", "ns"],
        help="numbers in the date column are Unix epoch times in this unit (s: seconds, ms, us, "
             "ns); forecasts give them back as UTC dates")

    # forecasting task
    add("--seq_len", type=int, default=96, help="input length")
    add("--label_len", type=int, default=48, help="decoder start-token length")
    add("--pred_len", type=int, default=96, help="forecast horizon")

    # model define
    add("--enc_in", type=int, default=None,
        help="encoder input size (channels); default: the data's, from its columns and --features")
    add("--dec_in", type=int, default=None, help="decoder input size; default: as --enc_in")
    add("--c_out", type=int, default=None,
        help="output size; default: as --enc_in (1 with --features MS)")
    add("--d_model", type=int, default=16, help="model width")
    add("--n_heads", type=int, default=8, help="attention heads")
    add("--e_layers", type=int, default=2, help="encoder layers")
    add("--d_layers", type=int, default=1, help="decoder layers")
    add("--d_ff", type=int, default=32, help="feed-forward width (Time-LLM: kept LLM channels)")
    add("--moving_avg", type=int, default=25, help="moving-average window of series decomposition")
    add("--factor", type=int, default=1, help="attention factor (Autoformer / Informer)")
    add("--distil", type=int, default=1, help="Informer: 1 uses self-attention distilling")
    add("--informer_variant", default="lineage",
        help="Informer: lineage (Autoformer/LTSF-Linear/TSLib copy, the quoted numbers) | "
             "informer2020 (the original repository)")
    add("--dropout", type=float, default=0.1, help="dropout")
    add("--activation", default="gelu", help="activation")
    add("--patch_len", type=int, default=16, help="patch length")
    add("--stride", type=int, default=8, help="patch stride")
    add("--individual", type=int, default=0, help="DLinear / PatchTST: one head per channel")
    add("--fc_dropout", type=float, default=0.05, help="PatchTST: pretraining head dropout")
    add("--head_dropout", type=float, default=0.0, help="PatchTST: head dropout")
    add("--padding_patch", default="end", help="PatchTST: None | end")
    add("--revin", type=int, default=1, help="PatchTST: RevIN on/off")
    add("--affine", type=int, default=0, help="PatchTST: RevIN affine")
    add("--subtract_last", type=int, default=0, help="PatchTST: 0 subtract mean, 1 subtract last")
    add("--use_norm", type=int, default=1,
        help="iTransformer: 1 normalises each window per variate and restores the forecast's scale")
    add("--stacks", type=int, default=30, help="N-BEATS: blocks (the authors' generic M4 model: 30)")
    add("--layers", type=int, default=4,
        help="N-BEATS / N-HiTS: fully connected layers per block (N-HiTS authors: 2)")
    add("--layer_size", type=int, default=512, help="N-BEATS / N-HiTS: width of those layers")
    add("--n_pool_kernel_size", type=int, nargs="+", default=[2, 2, 1],
        help="N-HiTS: input pooling kernel of each stack (one value per stack)")
    add("--n_freq_downsample", type=int, nargs="+", default=[4, 2, 1],
        help="N-HiTS: each stack forecasts max(pred_len // value, 1) knots (one value per stack)")
    add("--n_blocks", type=int, nargs="+", default=[1, 1, 1],
        help="N-HiTS: blocks of each stack (one value per stack)")
    add("--pooling_mode", default="max", help="N-HiTS: max | average input pooling")
    add("--interpolation_mode", default="linear", help="N-HiTS: linear | nearest knot interpolation")
    add("--top_k", type=int, default=5, help="TimesNet: periods per TimesBlock")
    add("--num_kernels", type=int, default=6, help="TimesNet: kernels per Inception block")

    # Time-LLM
    add("--prompt_domain", type=int, default=0,
        help="1: use a dataset description in the prompt (--content, --content_file, else the "
             "prompt bank's)")
    add("--content", default=None, help="the dataset description for --prompt_domain 1 (any --data)")
    add("--content_file", default=None,
        help="a text file holding the dataset description for --prompt_domain 1")
    add("--llm_model", default=None,
        help="backbone: auto (the architecture of --llm_path's config; the default with "
             "--llm_path) | SmolLM2 (the default without) | MiniLM | LLAMA | GPT2 | BERT")
    add("--llm_path", default=None,
        help="hub id or local folder of any Hugging Face language model (docs/BACKBONES.md)")
    add("--llm_dim", type=int, default=None,
        help="LLM hidden size; derived from the backbone's config (an explicit value must agree)")
    add("--llm_layers", type=int, default=6, help="keep the first k layers of the backbone")
    add("--num_tokens", type=int, default=1000, help="number of text prototypes")
    add("--prompt_cache", type=int, default=1,
        help="1: exact prompt KV cache for causal backbones; 0: plain forward")
    add("--prompt_store_mb", type=int, default=8192,
        help="at most this many MB of evaluation batches' prompt keys/values kept between passes "
             "(exact: the validation batches are the same every epoch and the backbone is frozen, "
             "so later passes skip their prompt pass; ETTh1's validation split at L=512 with "
             "SmolLM2 x 2 holds ~6.2 GB); 0: none")
    add("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"],
        help="dtype of the frozen backbone's weights (trainable layers stay float32); auto: the "
             "mixed-precision format under bf16/fp16, else float32")
    add("--fast_path", type=int, default=1,
        help="1: every exact speed-up (prompt KV cache, cached tokenisation and prototypes, SDPA, "
             "fused mapping layer); 0: the reference's plain computation, for comparisons")
    add("--mapping_vocab", type=int, default=0,
        help="NOT exact, opt-in: map only the K lowest token ids to prototypes (0: full vocabulary)")
    add("--ablation", default="none",
        help="none | no_llm | attention_layer | llm2attn | random_llm | no_prompt | no_reprogramming "
             "(docs/ABLATIONS.md)")

    # adapters (peft)
    add("--peft", default="none", help="none | lora: LoRA adapters on the backbone (peft)")
    add("--lora_r", type=int, default=8, help="LoRA rank")
    add("--lora_alpha", type=float, default=16, help="LoRA scaling alpha")
    add("--lora_dropout", type=float, default=0.05, help="LoRA dropout")
    add("--lora_target_modules", default=None,
        help="comma-separated module names (default per architecture: LLaMA q_proj,v_proj; "
             "GPT-2 c_attn; BERT query,value)")

    # optimization
    add("--num_workers", type=int, default=0, help="data loader workers")
    add("--itr", type=int, default=1, help="experiment repetitions (seed + i)")
    add("--train_epochs", type=int, default=10, help="epochs")
    add("--batch_size", type=int, default=32, help="training batch size per process")
    add("--eval_batch_size", type=int, default=8, help="evaluation batch size per process")
    add("--patience", type=int, default=10, help="early-stopping patience")
    add("--test_every_epoch", type=int, default=1, choices=[0, 1],
        help="1: score the test split every epoch for the log, like the reference (the final test "
             "then reuses the best epoch's pass); 0: only the final test")
    add("--save_state_every", type=float, default=0.0,
        help="seconds between saves of the resume state (weights, optimiser, RNGs: --resume); "
             "0: after every epoch; the last epoch's is always saved. For runs of many short "
             "epochs (the M4 recipes' one-step epochs), where the save costs more than the epoch")
    add("--learning_rate", type=float, default=0.0001, help="learning rate")
    add("--des", default="test", help="experiment description, part of the setting string")
    add("--loss", default="MSE", help="MSE | MAE | SMAPE (M4)")
    add("--lradj", default="type1", help="type1 | type2 | type3 | PEMS | constant | TST | COS")
    add("--pct_start", type=float, default=0.2, help="OneCycle warm-up fraction")
    add("--lr_quirk", default="auto", choices=["auto", "on", "off", "first_epoch"],
        help="OneCycle lr/25 start of epoch-wise schedules: on = Time-LLM reference (carried on), "
             "first_epoch = PatchTST authors' trainer (epoch 1 only), auto = on for TimeLLM only")
    add("--optimizer", default="adam", help="adam | adamw | sgd | rmsprop")
    add("--weight_decay", type=float, default=0.0, help="weight decay")
    add("--momentum", type=float, default=0.9, help="SGD / RMSprop momentum")
    add("--adam_beta1", type=float, default=0.9, help="Adam / AdamW beta1")
    add("--adam_beta2", type=float, default=0.999, help="Adam / AdamW beta2")
    add("--grad_accum", type=int, default=1, help="gradient accumulation steps (through Accelerate)")
    add("--global_batch", type=int, default=0,
        help="windows averaged in one optimiser step: processes x --batch_size x --grad_accum. "
             "When given, the per-process batch becomes global_batch / (processes x grad_accum), "
             "which must divide it (the Time-LLM paper: 8 GPUs x 24 = 192); 0: --batch_size as "
             "given. metrics.json records the global batch either way")
    add("--max_grad_norm", type=float, default=0.0, help="clip the gradient norm (0: no clipping)")
    add("--use_amp", action="store_true", help="mixed precision (bf16 on CPU, fp16 with loss scaling on GPU)")
    add("--mixed_precision", default=None, choices=["no", "fp16", "bf16"],
        help="explicit mixed precision (overrides --use_amp)")
    add("--tf32", type=int, default=0, choices=[0, 1],
        help="1: TensorFloat-32 for fp32 matrix products and cuDNN on GPUs that have it (not exact); "
             "0: IEEE fp32")
    add("--reuse_memory", type=int, default=1, choices=[0, 1],
        help="1: the C allocator keeps freed memory for reuse instead of mapping every large tensor "
             "afresh (glibc; a process setting that changes no number: a CPU training step ~1.5x "
             "faster, bench/README.md); 0: the allocator's defaults")
    add("--use_deepspeed", type=int, default=0, help="1: DeepSpeed ZeRO-2 from --deepspeed_config")
    add("--deepspeed_config", default="ds_config_zero2.json", help="DeepSpeed config file")
    add("--results_dir", default="./results", help="where metrics, forecasts and plots go")
    add("--report_to", default="none",
        help="none | tensorboard: per-step loss and lr, per-epoch losses and the test metrics, "
             "through Accelerate's trackers, in <results_dir>/<setting>/tensorboard/")
    add("--overwrite", action="store_true", help="allow replacing an existing results folder")
    add("--resume", action="store_true", help="continue an interrupted run from its last state")
    return p


def main(argv: list[str] | None = None) -> int:
    """Parse, then run (the configuration is built and checked from the flags, seeds are set per
    repetition); turn user errors into one line and exit status 2."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    try:
        run(args)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        again = argv if "--resume" in argv else [*argv, "--resume"]
        print(f"interrupted: the run keeps its last saved epoch; continue it with: "
              f"python run_main.py {shlex.join(again)}", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
