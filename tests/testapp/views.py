from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404

from tests.testapp.models import Item


def item_detail(request, pk):
    item = get_object_or_404(Item, pk=pk)
    return HttpResponse(f"<h1>{item.name}</h1>")


async def item_detail_async(request, pk):
    return HttpResponse("async item")


def search(request):
    request.recommendations_result_count = 3
    return HttpResponse("results")


def broken(request, pk):
    return HttpResponse("oops", status=500)


def ping(request):
    return JsonResponse({"ok": True})


def do_login(request):
    from django.contrib.auth import authenticate, login

    user = authenticate(request, username=request.POST["username"], password=request.POST["password"])
    login(request, user)
    return HttpResponse("in")


def do_logout(request):
    from django.contrib.auth import logout

    logout(request)
    return HttpResponse("out")
