"""One import for Qt: PySide6 (Nuke 16+) or PySide2 (Nuke 13-15)."""
try:
    from PySide6 import QtCore, QtGui, QtWidgets
    QT_BINDING = "PySide6"
except ImportError:
    from PySide2 import QtCore, QtGui, QtWidgets
    QT_BINDING = "PySide2"


def exec_dialog(dialog):
    """QDialog.exec() (PySide6) / exec_() (PySide2)."""
    run = getattr(dialog, "exec", None) or dialog.exec_
    return run()


__all__ = ["QtCore", "QtGui", "QtWidgets", "QT_BINDING", "exec_dialog"]
