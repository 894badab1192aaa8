from django.urls import path

from payments import loan_views, refund_views, views

app_name = "payments"

urlpatterns = [
    path("loans/<str:reference>/", loan_views.loan_detail, name="loan_detail"),
    path(
        "loans/<str:reference>/key-facts/",
        loan_views.loan_key_facts,
        name="loan_key_facts",
    ),
    path(
        "loans/<str:reference>/statement.csv",
        loan_views.loan_statement_csv,
        name="statement_csv",
    ),
    path(
        "loans/<str:reference>/discharge-letter/",
        loan_views.discharge_letter,
        name="discharge_letter",
    ),
    path("webhooks/paystack", views.paystack_webhook, name="paystack_webhook"),
    path("loans/<str:reference>/pay/", views.pay, name="pay"),
    path("payments/return/", views.checkout_return, name="checkout_return"),
    path(
        "backoffice/disbursements/",
        views.DisbursementQueueView.as_view(),
        name="disbursement_queue",
    ),
    path("backoffice/loans/<str:reference>/", views.staff_loan, name="staff_loan"),
    path(
        "backoffice/loans/<str:reference>/resolve-account/",
        views.resolve_account,
        name="resolve_account",
    ),
    path(
        "backoffice/loans/<str:reference>/confirm-account/",
        views.confirm_account,
        name="confirm_account",
    ),
    path("backoffice/loans/<str:reference>/disburse/", views.disburse, name="disburse"),
    path(
        "backoffice/loans/<str:reference>/manual-disbursement/",
        views.manual_disburse,
        name="manual_disburse",
    ),
    path("backoffice/loans/<str:reference>/payments/", views.manual_payment, name="manual_payment"),
    path("backoffice/payments/<int:pk>/reverse/", views.reverse_payment, name="reverse"),
    path("backoffice/ledger/", views.trial_balance, name="trial_balance"),
    # Refunds of member credit and of deposits in suspense.
    path(
        "loans/<str:reference>/refund/",
        refund_views.refund_credit,
        name="refund_credit",
    ),
    path(
        "backoffice/loans/<str:reference>/refund/",
        refund_views.staff_refund_credit,
        name="staff_refund_credit",
    ),
    path("backoffice/refunds/", refund_views.refund_queue, name="refund_queue"),
    path(
        "backoffice/refunds/<int:pk>/approve/",
        refund_views.approve_refund,
        name="refund_approve",
    ),
    path(
        "backoffice/refunds/<int:pk>/reject/",
        refund_views.reject_refund,
        name="refund_reject",
    ),
    path("backoffice/suspense/", refund_views.suspense_list, name="suspense"),
    path(
        "backoffice/suspense/<int:pk>/assign/",
        refund_views.suspense_assign,
        name="suspense_assign",
    ),
    path(
        "backoffice/suspense/<int:pk>/refund/",
        refund_views.suspense_refund,
        name="suspense_refund",
    ),
]
