"""A small Django shop: product pages are cached in Redis through Django's cache."""

import threading
import time

from django.core.cache import cache
from django.shortcuts import get_object_or_404, render

from .models import Product

_render_lock = threading.Lock()


def product_detail(request, pk):
    key = f"product:{pk}"
    payload = cache.get(key)
    if payload is None:
        product = get_object_or_404(Product, pk=pk)
        payload = {"name": product.name, "price": str(product.price), "version": product.version}
        cache.set(key, payload, timeout=300)
    return render(request, "shop/product.html", {"product": payload})


def remember_price(product):
    cache.set(f"price:{product.pk}", str(product.price), version=int(time.time()))


def category_page(request, slug):
    with _render_lock:
        html = cache.get(f"category:{slug}")
        if html is None:
            html = render(request, "shop/category.html", {"slug": slug}).content
            cache.set(f"category:{slug}", html, 600)
    return html
