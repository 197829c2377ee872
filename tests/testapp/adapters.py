from recommendations.catalogue import ProductAdapter


class ItemAdapter(ProductAdapter):
    select_related = ("category", "category__parent")

    def description(self, product):
        return product.blurb

    def is_available(self, product):
        return product.active
