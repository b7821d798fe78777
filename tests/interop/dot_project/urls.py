from django.http import JsonResponse
from django.urls import path
from oauth2_provider.views.generic import ScopedProtectedResourceView


class Orders(ScopedProtectedResourceView):
    required_scopes = ["read"]

    def get(self, request):
        return JsonResponse({"user": request.resource_owner.username})


class OrderUpdates(ScopedProtectedResourceView):
    required_scopes = ["update"]

    def get(self, request):
        return JsonResponse({"user": request.resource_owner.username})


urlpatterns = [
    path("api/orders", Orders.as_view()),
    path("api/orders/updates", OrderUpdates.as_view()),
]
