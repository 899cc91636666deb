"""RVMatte > Preferences: the worker interpreter, default weights and device.
Qt through the `qt` shim, so it runs on PySide2 (Nuke 13-15) and PySide6 (16+)."""
from . import settings
from .qt import QtCore, QtWidgets

OK_STYLE = "color: #6fbf73;"
ERROR_STYLE = "color: #e57373;"
_open_panels = []


class PreferencesPanel(QtWidgets.QWidget):
    """Edits settings.Preferences; Save writes them, Check worker runs
    `<python> -m rvmatte --version` and shows what it said."""

    saved = QtCore.Signal()

    def __init__(self, parent=None):
        QtWidgets.QWidget.__init__(self, parent)
        self.setObjectName("RVMattePreferences")
        self.setWindowTitle("RVMatte Preferences")

        title = QtWidgets.QLabel("<b>RVMatte</b> &mdash; the worker that runs Robust Video Matting "
                                 "outside Nuke")
        self.python_edit = QtWidgets.QLineEdit()
        self.python_edit.setPlaceholderText("e.g. /opt/rvmatte/.venv/bin/python")
        self.python_edit.setToolTip("A Python with rvmatte (and torch) installed. "
                                    "RVMATTE_PYTHON overrides it, e.g. on render nodes.")
        self.weights_edit = QtWidgets.QLineEdit()
        self.weights_edit.setPlaceholderText("empty: RVMATTE_WEIGHTS, then rvmatte's download cache")
        self.device_combo = QtWidgets.QComboBox()
        self.device_combo.addItems(list(settings.DEVICES))
        self.device_combo.setToolTip("Used by nodes whose device knob says 'preferences'.")

        form = QtWidgets.QFormLayout()
        form.addRow("Worker Python", self._with_browse(self.python_edit, "Worker Python"))
        form.addRow("Default weights", self._with_browse(self.weights_edit, "RVM weights (*.pth *.safetensors)"))
        form.addRow("Default device", self.device_combo)

        self.check_button = QtWidgets.QPushButton("Check worker")
        self.check_button.clicked.connect(self.check_worker)
        self.status_label = QtWidgets.QLabel("")
        self.status_label.setObjectName("status")
        self.status_label.setWordWrap(True)
        self.save_button = QtWidgets.QPushButton("Save")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save)
        self.path_label = QtWidgets.QLabel("Saved in %s" % settings.prefs_path())
        self.path_label.setStyleSheet("color: gray;")

        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.check_button)
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)

        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(title)
        layout.addLayout(form)
        layout.addWidget(self.status_label)
        layout.addLayout(buttons)
        layout.addWidget(self.path_label)
        self.load()

    def _with_browse(self, edit, caption):
        row = QtWidgets.QWidget()
        box = QtWidgets.QHBoxLayout(row)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(edit, 1)
        button = QtWidgets.QToolButton()
        button.setText("...")
        button.clicked.connect(lambda: self._browse(edit, caption))
        box.addWidget(button)
        return row

    def _browse(self, edit, caption):
        name_filter = caption[caption.index("("):] if "(" in caption else ""
        chosen = QtWidgets.QFileDialog.getOpenFileName(self, caption, edit.text(), name_filter)[0]
        if chosen:
            edit.setText(chosen)

    def preferences(self):
        return settings.Preferences(python=self.python_edit.text().strip(),
                                    weights=self.weights_edit.text().strip(),
                                    device=self.device_combo.currentText())

    def load(self):
        try:
            prefs = settings.load()
        except settings.SettingsError as exc:
            self.show_status(False, str(exc))
            prefs = settings.Preferences()
        self.python_edit.setText(prefs.python)
        self.weights_edit.setText(prefs.weights)
        self.device_combo.setCurrentIndex(max(0, self.device_combo.findText(prefs.device)))

    def save(self):
        settings.save(self.preferences())
        self.show_status(True, "Saved.")
        self.saved.emit()

    def check_worker(self):
        self.show_status(True, "Checking...")
        QtWidgets.QApplication.processEvents()
        ok, line = settings.check_worker(self.preferences().python)
        self.show_status(ok, line if not ok else "%s is ready." % line)
        return ok

    def show_status(self, ok, text):
        self.status_label.setStyleSheet(OK_STYLE if ok else ERROR_STYLE)
        self.status_label.setText(text)


def show_preferences():
    """Opens the preferences as a window in front of Nuke's main window."""
    parent = QtWidgets.QApplication.activeWindow()
    panel = PreferencesPanel()
    panel.setParent(parent, QtCore.Qt.Window)
    panel.resize(560, panel.sizeHint().height())
    panel.show()
    _open_panels.append(panel)
    return panel
