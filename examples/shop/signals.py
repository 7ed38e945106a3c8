"""Invalidate a product's cached page when the product changes."""

from django.core.cache import cache
from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import Product


@receiver(post_save, sender=Product)
def forget_product(sender, instance, **kwargs):
    cache.delete("product:%s" % instance.pk)
