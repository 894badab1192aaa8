"""What privacy tells the apps above it (the API's tokens) without importing them."""

from django.dispatch import Signal

# user: the login of a member whose personal data was just blanked. Sent inside the
# anonymisation's transaction: a receiver's work commits or rolls back with it.
member_anonymised = Signal()
