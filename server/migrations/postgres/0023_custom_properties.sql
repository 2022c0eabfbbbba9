-- The app's own data on an account (`custom_properties`, Kloudless's name): a JSON object of at
-- most 4 KiB, as text, given in the pop-up request or by PATCH /v1/accounts/{id}/ with the app's
-- API key (server/src/accounts/custom_properties.rs). NULL: none given ({} in the API).
ALTER TABLE accounts ADD COLUMN custom_properties TEXT;
