"""Privacy: export everything held about a shopper, erase it, purge old events (:mod:`.service`)."""

from recommendations.privacy.service import erase_user_data, export_user_data, pseudonym, purge_old_events

__all__ = ["erase_user_data", "export_user_data", "pseudonym", "purge_old_events"]
