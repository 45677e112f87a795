package com.acme.orders;

import java.math.BigDecimal;
import java.util.List;
import java.util.Set;

public class OrderService {
    private static final Set<String> EU = Set.of("AT", "BE", "DE", "DK", "ES", "FI", "FR", "IE", "IT", "NL", "PL", "PT", "SE");
    private static final BigDecimal FREE_SHIPPING_FROM = new BigDecimal("50.00");

    private final CustomerRepository customers;
    private final ShippingRates rates;

    public OrderService(CustomerRepository customers, ShippingRates rates) {
        this.customers = customers;
        this.rates = rates;
    }

    public Quote quote(long customerId, List<LineItem> items) {
        Customer customer = getCust(customerId);
        BigDecimal subtotal = items.stream()
                .map(i -> i.unitPrice().multiply(BigDecimal.valueOf(i.quantity())))
                .reduce(BigDecimal.ZERO, BigDecimal::add);
        BigDecimal shipping = shippingFor(customer, subtotal);
        return new Quote(subtotal, shipping, subtotal.add(shipping));
    }

    BigDecimal shippingFor(Customer customer, BigDecimal subtotal) {
        if (customer.isVip() || subtotal.compareTo(FREE_SHIPPING_FROM) >= 0) {
            return BigDecimal.ZERO;
        }
        String country = customer.getShippingAddress().country();
        return EU.contains(country) ? rates.eu() : rates.international();
    }

    private Customer getCust(long id) {
        return customers.findById(id)
                .orElseThrow(() -> new IllegalArgumentException("no customer " + id));
    }

    public record LineItem(String sku, BigDecimal unitPrice, int quantity) {}

    public record Quote(BigDecimal subtotal, BigDecimal shipping, BigDecimal total) {}
}
