import json

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .models import Order


@login_required
def order_list(request):
    orders = Order.objects.filter(owner=request.user).order_by("-created_at")[:50]
    return JsonResponse({"orders": [
        {"id": o.id, "status": o.status, "total_cents": o.total_cents(),
         "items": [{"sku": i.product.sku, "qty": i.quantity} for i in o.items.all()]}
        for o in orders
    ]})


@login_required
def order_detail(request, order_id):
    order = get_object_or_404(Order, pk=order_id)
    return JsonResponse({
        "id": order.id,
        "status": order.status,
        "note": order.note,
        "total_cents": order.total_cents(),
        "items": [{"sku": i.product.sku, "name": i.product.name, "qty": i.quantity} for i in order.items.all()],
    })


@csrf_exempt
@login_required
@require_http_methods(["POST"])
def update_note(request, order_id):
    order = get_object_or_404(Order, pk=order_id)
    try:
        payload = json.loads(request.body)
    except ValueError:
        return HttpResponseBadRequest("invalid json")
    order.note = payload.get("note", "")
    order.save()
    return JsonResponse({"id": order.id, "note": order.note})
