package com.acme.orders;

import java.util.Objects;

public class Customer {
    private final long id;
    private final String email;
    private final Address shippingAddress; // null until the customer has added one
    private final boolean vip;

    public Customer(long id, String email, Address shippingAddress, boolean vip) {
        this.id = id;
        this.email = Objects.requireNonNull(email);
        this.shippingAddress = shippingAddress;
        this.vip = vip;
    }

    public long getId() { return id; }
    public String getEmail() { return email; }
    public Address getShippingAddress() { return shippingAddress; }
    public boolean isVip() { return vip; }

    public record Address(String line1, String city, String postcode, String country) {}
}
