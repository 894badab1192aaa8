"""Periodic servicing jobs (thin wrappers over ``servicing.services``)."""
