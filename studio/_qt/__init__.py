"""Qt views (PySide6 + pyqtgraph). The only package allowed to import Qt."""
import sys


def _keep_none_alive() -> bool:
    """Work around a binding bug seen with PySide6 6.12.0 on Python 3.11: every call of a
    void-returning Qt method drops one reference to ``None`` without taking it, so after some
    thousands of paints the interpreter aborts with "none_dealloc: deallocating None".
    Python ≥ 3.12 makes None immortal (PEP 683); on older versions we probe for the bug and, if
    present, give None (and True/False) a reference count they can never exhaust. Returns whether it was applied."""
    if sys.version_info >= (3, 12):
        return False
    try:
        from PySide6.QtCore import QObject
    except ImportError:
        return False
    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(64):
        probe.setObjectName("probe")  # a void method
    if sys.getrefcount(None) > before - 32:
        return False
    import ctypes
    # The same release also drops references to True/False (e.g. emitting a Signal(bool)).
    for singleton in (None, True, False):
        ctypes.c_ssize_t.from_address(id(singleton)).value += 1 << 40  # ob_refcnt: PyObject's first field
    return True


NONE_GUARD_APPLIED = _keep_none_alive()
