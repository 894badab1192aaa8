"""What a borrower lives with after payout: waivers, restructures, refunds of member credit.

Each model's rows are the history of one servicing decision (who proposed, who approved, when);
the money moves through ``ledger.posting`` in the same transaction as the decision.
"""
