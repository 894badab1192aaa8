from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("me/messages/", views.MemberMessagesView.as_view(), name="messages"),
    path("me/messages/<int:pk>/", views.message_detail, name="message_detail"),
]
