"""
Stand-in for ``xmodule.modulestore.exceptions``: the same exception classes and constructors.

``ItemNotFoundError`` is the OLX reader's class, so that code catching it catches what the
stand-in modulestore raises.
"""

from olx_modulestore import ItemNotFoundError

__all__ = [
    "DuplicateCourseError",
    "DuplicateItemError",
    "InsufficientSpecificationError",
    "InvalidBranchSetting",
    "InvalidLocationError",
    "ItemNotFoundError",
    "ItemWriteConflictError",
    "MultipleCourseBlocksFound",
    "MultipleLibraryBlocksFound",
    "NoPathToItem",
    "OverSpecificationError",
    "ReferentialIntegrityError",
    "VersionConflictError",
]


class ItemWriteConflictError(Exception):
    """A write conflicted with another one."""


class MultipleCourseBlocksFound(Exception):
    """A course structure holds more than one course block."""


class MultipleLibraryBlocksFound(Exception):
    """A library structure holds more than one library block."""


class InsufficientSpecificationError(Exception):
    """A key does not say enough to find what was asked for."""


class OverSpecificationError(Exception):
    """A key says more than the operation accepts."""


class InvalidLocationError(Exception):
    """A location is not valid."""


class NoPathToItem(Exception):
    """There is no path from the course to the block."""


class ReferentialIntegrityError(Exception):
    """A reference points to something that does not exist, or to a block with two parents."""


class DuplicateItemError(Exception):
    """An item with this id already exists."""

    def __init__(self, element_id, store=None, collection=None):
        super().__init__()
        self.element_id = element_id
        self.store = store
        self.collection = collection

    def __str__(self, *args, **kwargs):
        return f"{self.store}[{self.collection}] already has {self.element_id} ({Exception.__str__(self, *args, **kwargs)})"


class VersionConflictError(Exception):
    """The requested version is not the current head of the branch."""

    def __init__(self, requestedLocation, currentHeadVersionGuid):
        super().__init__(f"Requested {requestedLocation}, but current head is {currentHeadVersionGuid}")


class DuplicateCourseError(Exception):
    """A course with this id already exists."""

    def __init__(self, course_id, existing_entry):
        super().__init__(f"Cannot create course {course_id}, which duplicates {existing_entry}")
        self.course_id = course_id
        self.existing_entry = existing_entry


class InvalidBranchSetting(Exception):
    """The branch setting is not the one the operation requires."""

    def __init__(self, expected_setting, actual_setting):
        super().__init__(f"Invalid branch: expected {expected_setting} but got {actual_setting}")
        self.expected_setting = expected_setting
        self.actual_setting = actual_setting
