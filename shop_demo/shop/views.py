"""Thin views: read the request, call ``catalogue`` or ``services``, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_POST

from . import catalogue, services
from .cart import Cart, cart_total
from .forms import CheckoutForm, QuantityForm, SignUpForm
from .models import Order, Product
from .placeholders import product_svg

PAGE_SIZE = 24


def _page(request: HttpRequest, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _base_query(request: HttpRequest) -> str:
    """The current query string without ``page``, ready for ``?{{ base_query }}page=N``."""
    params = request.GET.copy()
    params.pop("page", None)
    encoded = params.urlencode()
    return f"{encoded}&" if encoded else ""


def _next_url(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "shop/home.html",
        {"departments": catalogue.department_tiles(), "new_arrivals": catalogue.new_arrivals(10)},
    )


def product_list(request: HttpRequest) -> HttpResponse:
    slug = request.GET.get("category", "")
    category = catalogue.category_by_slug(slug) if slug else None
    if slug and category is None:
        raise Http404("No such category")
    sort = request.GET.get("sort", "new")
    return render(
        request,
        "shop/product_list.html",
        {
            "category": category,
            "sort": sort,
            "page_obj": _page(request, catalogue.products_in(category, sort)),
            "base_query": _base_query(request),
        },
    )


def product_detail(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_object_or_404(Product.objects.active().with_relations(), pk=pk)
    # The recommendations middleware records this view; handing it the product saves it a lookup.
    request.recommendations_product = product
    return render(
        request,
        "shop/product_detail.html",
        {"product": product, "in_cart": Cart(request.session).quantity_of(product.pk)},
    )


@cache_control(max_age=86400, public=True)
def product_image(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_object_or_404(Product.objects.with_relations(), pk=pk)
    return HttpResponse(product_svg(product), content_type="image/svg+xml")


def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    sort = request.GET.get("sort", "new")
    page_obj = _page(request, catalogue.search(query, sort))
    # Recorded with the search event by the recommendations middleware (zero-result searches matter).
    request.recommendations_result_count = page_obj.paginator.count
    return render(
        request,
        "shop/search.html",
        {
            "query": query,
            "sort": sort,
            "page_obj": page_obj,
            "base_query": _base_query(request),
        },
    )


def cart_detail(request: HttpRequest) -> HttpResponse:
    lines = Cart(request.session).lines()
    return render(
        request,
        "shop/cart.html",
        {"lines": lines, "total": cart_total(lines), "cart_products": [line.product for line in lines]},
    )


@require_POST
def cart_add(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_object_or_404(Product.objects.active(), pk=pk)
    form = QuantityForm(request.POST)
    quantity = form.cleaned_data["quantity"] if form.is_valid() else 1
    added = services.add_to_cart(request, product, quantity)
    if added:
        messages.success(request, f"Added {added} x {product.name} to your cart.")
    else:
        messages.warning(request, f"Sorry, no more “{product.name}” in stock.")
    return redirect(_next_url(request, "shop:cart"))


@require_POST
def cart_remove(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_object_or_404(Product, pk=pk)
    if services.remove_from_cart(request, product):
        messages.info(request, f"Removed {product.name} from your cart.")
    return redirect(_next_url(request, "shop:cart"))


@require_POST
def cart_update(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_object_or_404(Product, pk=pk)
    form = QuantityForm(request.POST)
    if form.is_valid():
        services.update_cart(request, product, form.cleaned_data["quantity"])
    else:
        messages.error(request, "Please enter a quantity between 0 and 20.")
    return redirect("shop:cart")


def checkout(request: HttpRequest) -> HttpResponse:
    lines = Cart(request.session).lines()
    if not lines:
        messages.info(request, "Your cart is empty.")
        return redirect("shop:cart")
    if request.method == "POST":
        form = CheckoutForm(request.POST)
        if form.is_valid():
            details = services.CheckoutDetails(
                email=form.cleaned_data["email"],
                full_name=form.cleaned_data["full_name"],
                address=form.cleaned_data["address"],
                card_number=form.cleaned_data["card_number"],
            )
            try:
                order = services.place_order(request, details)
            except services.CheckoutError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"Thank you! Order {order.reference} is confirmed.")
                return redirect(order)
    else:
        user = request.user
        initial = {}
        if user.is_authenticated:
            initial = {"email": user.email, "full_name": user.get_full_name()}
        form = CheckoutForm(initial=initial)
    return render(request, "shop/checkout.html", {"form": form, "lines": lines, "total": cart_total(lines)})


def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = get_object_or_404(Order.objects.prefetch_related("lines"), pk=pk)
    if not services.can_view_order(request, order):
        raise Http404("No such order")
    return render(request, "shop/order_detail.html", {"order": order})


@login_required
def order_history(request: HttpRequest) -> HttpResponse:
    orders = request.user.orders.prefetch_related("lines")
    return render(request, "shop/order_history.html", {"page_obj": _page(request, orders)})


@login_required
def buy_again(request: HttpRequest) -> HttpResponse:
    """The shopper's own page: what they buy again and are due to, and what they looked at or
    carted without buying (both slots come from the recommendations app, with their reasons)."""
    return render(request, "shop/buy_again.html")


def signup(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = SignUpForm(request.POST)
        if form.is_valid():
            user = form.save()
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome, {user.username}!")
            return redirect(_next_url(request, "shop:home"))
    else:
        form = SignUpForm()
    return render(request, "registration/signup.html", {"form": form})
