"""
Stand-in for ``xmodule.modulestore``: the constants of ``ModuleStoreEnum``, with the real values.
"""

COURSE_ROOT = "course.xml"
LIBRARY_ROOT = "library.xml"


class ModuleStoreEnum:
    """Constants passed to and used by the modulestores."""

    class Type:
        """Kinds of modulestore."""

        split = "split"
        mongo = "mongo"

    class RevisionOption:
        """Values of the ``revision`` argument of the store methods."""

        draft_preferred = "rev-opt-draft-preferred"
        draft_only = "rev-opt-draft-only"
        published_only = "rev-opt-published-only"
        all = "rev-opt-all"

    class Branch:
        """Branch settings (``MODULESTORE_BRANCH``, ``store.branch_setting(...)``)."""

        draft_preferred = "draft-preferred"
        published_only = "published-only"

    class BranchName:
        """Branch names as they appear in split keys (``+branch@...``)."""

        draft = "draft-branch"
        published = "published-branch"
        library = "library"

    class UserID:
        """User ids for changes that no real user makes."""

        mgmt_command = -1
        primitive_command = -2
        test = -3
        system = -4

    class SortOrder:
        """Sort orders for asset metadata."""

        ascending = 1
        descending = 2
