"""
Stand-in for ``xmodule.modulestore.django``: the modulestore signals and ``modulestore()``.

As in edx-platform:

- ``SignalHandler`` holds the signals as class attributes (``SwitchedSignal`` instances) and
  sends every one through ``signal.send_robust(sender=<modulestore class>, ...)``, so a
  receiver's exception is returned and logged, never raised to the sender.
- The signals are also module attributes in upper case (``COURSE_PUBLISHED``, ...), made at
  import time, so ``"xmodule.modulestore.django.COURSE_PUBLISHED"`` works as a signal path.
- ``modulestore()`` returns one process-wide store, built on first use from
  ``settings.MODULESTORE['default']``; ``clear_existing_modulestores()`` forgets it.

Differences: the store is always this package's ``MixedModuleStore`` (``ENGINE`` is not
read), built from ``OPTIONS`` (see ``xmodule.modulestore.mixed``); the default branch setting
is ``settings.MODULESTORE_BRANCH``, else ``draft-preferred`` as ``cms/envs/common.py`` sets it;
this module does not call ``settings.configure()`` on import.
"""

import logging
from contextlib import contextmanager
from typing import ClassVar

import django.dispatch
from django.conf import settings

from xmodule.modulestore import ModuleStoreEnum
from xmodule.modulestore.mixed import MixedModuleStore

log = logging.getLogger(__name__)


class SwitchedSignal(django.dispatch.Signal):
    """
    A Django signal that can be switched off: ``send`` and ``send_robust`` then do nothing and
    return ``[]``. Meant for tests; the signals are shared by the whole process, so re-enable
    what you disable (``for_state`` does it for you).
    """

    def __init__(self, name, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.name = name
        self._allow_signals = True

    def disable(self):
        """Make sending a no-op."""
        self._allow_signals = False

    def enable(self):
        """Make sending deliver to receivers again."""
        self._allow_signals = True

    @contextmanager
    def for_state(self, *, is_enabled: bool):
        """Switch the signal on or off for the duration of the ``with`` block."""
        previous = self._allow_signals
        self._allow_signals = is_enabled
        try:
            yield
        finally:
            self._allow_signals = previous

    def send(self, *args, **kwargs):
        """``Signal.send``, or ``[]`` while the signal is disabled."""
        return super().send(*args, **kwargs) if self._allow_signals else []

    def send_robust(self, *args, **kwargs):
        """``Signal.send_robust``, or ``[]`` while the signal is disabled."""
        return super().send_robust(*args, **kwargs) if self._allow_signals else []

    def __repr__(self):
        return f"SwitchedSignal('{self.name}')"


class SignalHandler:
    """
    The modulestore's signals, and how a store sends them.

    Receivers connect to the class attributes (``@receiver(SignalHandler.course_published)``)
    and must accept ``sender``, the signal's keyword arguments and ``**kwargs``. The sender is
    the class of the store that sends (``MixedModuleStore``).
    """

    pre_publish = SwitchedSignal("pre_publish")
    course_published = SwitchedSignal("course_published")
    course_deleted = SwitchedSignal("course_deleted")
    library_updated = SwitchedSignal("library_updated")
    item_deleted = SwitchedSignal("item_deleted")
    pre_item_delete = SwitchedSignal("pre_item_delete")

    _mapping: ClassVar[dict[str, SwitchedSignal]] = {
        signal.name: signal
        for signal in [pre_publish, course_published, course_deleted, library_updated, item_deleted, pre_item_delete]
    }

    def __init__(self, modulestore_class):
        self.modulestore_class = modulestore_class

    @classmethod
    def all_signals(cls):
        """All the signals."""
        return cls._mapping.values()

    @classmethod
    def signal_by_name(cls, signal_name):
        """The signal called ``signal_name``."""
        return cls._mapping[signal_name]

    def send(self, signal_name, **kwargs):
        """Send the signal robustly and log each receiver's response (an exception included)."""
        signal = self._mapping[signal_name]
        responses = signal.send_robust(sender=self.modulestore_class, **kwargs)
        for receiver, response in responses:
            log.info("Sent %s signal to %s with kwargs %s. Response was: %s", signal_name, receiver, kwargs, response)


# COURSE_PUBLISHED, COURSE_DELETED, ...: the signals under the names plugins use as signal paths.
globals().update({signal.name.upper(): signal for signal in SignalHandler.all_signals()})


_MIXED_MODULESTORE = None


def modulestore():
    """The process-wide store, built on first use from ``settings.MODULESTORE['default']['OPTIONS']``."""
    global _MIXED_MODULESTORE
    if _MIXED_MODULESTORE is None:
        options = settings.MODULESTORE["default"].get("OPTIONS", {})
        _MIXED_MODULESTORE = MixedModuleStore(
            signal_handler=SignalHandler(MixedModuleStore),
            branch_setting_func=_get_modulestore_branch_setting,
            xblock_mixins=getattr(settings, "XBLOCK_MIXINS", ()),
            **options,
        )
    return _MIXED_MODULESTORE


def clear_existing_modulestores():
    """Forget the process-wide store, so that the next ``modulestore()`` builds a new one."""
    global _MIXED_MODULESTORE
    _MIXED_MODULESTORE = None


def _get_modulestore_branch_setting():
    """``settings.MODULESTORE_BRANCH``, else Studio's ``draft-preferred``."""
    return getattr(settings, "MODULESTORE_BRANCH", ModuleStoreEnum.Branch.draft_preferred)
