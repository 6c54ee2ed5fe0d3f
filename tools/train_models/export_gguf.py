"""Writes a trained model (model.Llama) as a LLaMA GGUF file llama.cpp loads,
with gguf-py from the fetched llama.cpp source tree (scripts/fetch_llama_cpp.sh).
Tensor names and metadata keys are those llama.cpp's LLaMA loader reads; a
torch Linear weight (out, in) is written as is, which ggml reads as ne = [in, out]."""
import numpy as np

import vocab


def write(model, path, name, description):
    import gguf  # from the llama.cpp tree; train.py puts it on sys.path

    cfg = model.cfg
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name(name)
    w.add_description(description)
    w.add_context_length(cfg.n_ctx)
    w.add_embedding_length(cfg.n_embd)
    w.add_block_count(cfg.n_layer)
    w.add_feed_forward_length(cfg.n_ff)
    w.add_head_count(cfg.n_head)
    w.add_head_count_kv(cfg.n_head_kv)
    w.add_rope_dimension_count(cfg.head_dim)
    w.add_rope_freq_base(cfg.rope_base)
    w.add_layer_norm_rms_eps(cfg.rms_eps)
    w.add_vocab_size(cfg.n_vocab)
    w.add_file_type(0)  # all F32
    toks = vocab.tokens()
    w.add_tokenizer_model("llama")
    w.add_token_list([t.encode("utf-8") for t, _ in toks])
    w.add_token_scores([0.0] * len(toks))
    w.add_token_types([k for _, k in toks])
    w.add_unk_token_id(vocab.UNK)
    w.add_bos_token_id(vocab.BOS)
    w.add_eos_token_id(vocab.EOS)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.add_add_space_prefix(False)

    def t(tensor_name, p):
        w.add_tensor(tensor_name, np.ascontiguousarray(p.detach().cpu().numpy().astype(np.float32)))

    t("token_embd.weight", model.embed.weight)
    for i, b in enumerate(model.blocks):
        t(f"blk.{i}.attn_norm.weight", b.attn_norm.weight)
        t(f"blk.{i}.attn_q.weight", b.q.weight)
        t(f"blk.{i}.attn_k.weight", b.k.weight)
        t(f"blk.{i}.attn_v.weight", b.v.weight)
        t(f"blk.{i}.attn_output.weight", b.o.weight)
        t(f"blk.{i}.ffn_norm.weight", b.ffn_norm.weight)
        t(f"blk.{i}.ffn_gate.weight", b.gate.weight)
        t(f"blk.{i}.ffn_up.weight", b.up.weight)
        t(f"blk.{i}.ffn_down.weight", b.down.weight)
    t("output_norm.weight", model.norm.weight)
    t("output.weight", model.output.weight)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
