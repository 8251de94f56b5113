"""One GGUF file from its parts, with the ``gguf`` package (no hand-written binary writer):
metadata, vocabulary and fp32 tensors, written to a temporary file beside the target and renamed
over it only when complete — a failed export leaves nothing half-written."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from studio.core import errors as E
from studio.core.formats.gguf.vocab import write_vocab


def write_gguf(path: Path, arch: str, name: str, hparams: dict, tok, tensors: dict, gguf, np) -> list[str]:
    """Write the file; returns the vocabulary's notes. ``hparams``: {GGUFWriter adder without "add_": value}."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise E.StudioError(f"{path.parent}: cannot write the export ({exc.strerror or exc})") from None
    try:
        w = gguf.GGUFWriter(tmp, arch)
        w.add_name(name)
        w.add_file_type(gguf.LlamaFileType.ALL_F32)
        for key, value in hparams.items():
            getattr(w, f"add_{key}")(value)
        notes = write_vocab(w, gguf, tok)
        for tensor_name, t in tensors.items():
            w.add_tensor(tensor_name, np.ascontiguousarray(t.numpy(), dtype=np.float32))
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return notes
