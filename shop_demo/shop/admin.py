from django.contrib import admin

from .models import Brand, Category, Order, OrderLine, Product


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "parent", "position")
    list_filter = ("parent",)
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    search_fields = ("name",)
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "category", "brand", "price", "stock", "is_active")
    list_filter = ("is_active", "category__parent", "category")
    search_fields = ("name", "brand__name")
    list_select_related = ("category", "category__parent", "brand")
    autocomplete_fields = ("brand",)
    prepopulated_fields = {"slug": ("name",)}


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    raw_id_fields = ("product",)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("reference", "email", "user", "status", "total", "created_at")
    list_filter = ("status",)
    search_fields = ("reference", "email")
    date_hierarchy = "created_at"
    inlines = [OrderLineInline]
    raw_id_fields = ("user",)
