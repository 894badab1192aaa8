from django.urls import path

from members import views

app_name = "members"

urlpatterns = [
    path("me/", views.dashboard, name="dashboard"),
    path("me/profile/", views.profile, name="profile"),
    path("me/profile/validate/", views.profile_validate, name="profile_validate"),
    path("me/documents/", views.upload_document, name="upload_document"),
    path("me/submit-kyc/", views.submit_kyc, name="submit_kyc"),
    path("documents/<int:pk>/", views.download_document, name="document"),
    path("backoffice/members/", views.member_list, name="staff_list"),
    path("backoffice/members/<int:pk>/", views.member_detail, name="staff_detail"),
    path("backoffice/members/<int:pk>/reveal-bvn/", views.reveal_bvn, name="reveal_bvn"),
    path("backoffice/members/<int:pk>/kyc/verify/", views.verify_kyc, name="verify_kyc"),
    path("backoffice/members/<int:pk>/kyc/reject/", views.reject_kyc, name="reject_kyc"),
]
