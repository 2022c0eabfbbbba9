# The pop-up's pages in English, the fallback of every other language.
# Keys are shared by every language (a unit test checks that each file has exactly these).
# `{ $app }` is the app's display name, `{ $service }` a service's name: both are shown as given.

## The chooser

chooser-title = Connect an account
# The app's name is shown in bold where { $app } stands.
chooser-heading = { $app } wants to connect one of your accounts
chooser-intro = Choose the service your account is with.
chooser-cancel = Cancel
chooser-search-label = Search services
chooser-search-button = Search
chooser-count = { $shown ->
    [one] { $shown } service
   *[other] { $shown } services
}
chooser-count-matching = { $shown } of { $total } services match “{ $search }”
# Updated as the user types: { $shown } and { $total } are filled in by the page's script.
chooser-count-typed = { $shown } of { $total } services
chooser-empty = No service matches your search. Try another name, or clear the search box.

## The chooser's groups

category-suggested = Suggested
category-storage = Cloud storage
category-crm = CRM
category-calendar = Calendars
category-code = Code hosting
category-chat = Chat
category-itsm = IT service management
category-email = Email
category-accounting = Accounting
category-marketing = Marketing
category-database = Databases
category-helpdesk = Help desk
category-meeting = Meetings
category-project = Project management
category-documents = Documents
category-design = Design

## Every page

footer-help = Help from { $app }
close-button = Close this window
close-noscript = You can close this window now.
details-summary = Details for the app's developer

## The forms

form-heading = Connect your { $service } account
form-connect = Connect
connect-asks = { $app } asks to use your { $service } account.
connect-asks-admin = { $app } asks to use your { $service } account with admin access.
connect-demo-note = (This is the built-in demo provider: any account name works.)
connect-account = Account name
credentials-asks = { $app } asks to use your { $service } account. What you type goes to { $service } to check it, and is kept sealed on this server.
credentials-asks-traded = { $app } asks to use your { $service } account. What you type goes to { $service } once, in exchange for a token kept sealed on this server: your password is not kept.
credentials-where-basic = Where to find your sign-in details (opens { $service }'s help)
credentials-where-key = Where to find your API key (opens { $service }'s help)
credentials-username = User name
credentials-password = Password
credentials-region = Region
credentials-api-key = API key
credentials-reveal = Show
hostname-asks = { $app } asks to use your { $service } account. Which server is it on?
hostname-label = Server
hostname-hint = The address of your company's { $service } server, for example { $example }.
hostname-continue = Continue

## The forms' errors

form-error-hostname = “{ $host }” is not a server name of the form { $pattern }.
form-error-fill = Fill in every field, with at most { $max } characters each.
form-error-misconfigured = This service is not configured correctly.
form-error-refused = { $service } refused these credentials.
form-error-account = “{ $account }” is not a storage account name: 3 to 24 lowercase letters and digits.
form-error-account-key = The account key is not valid: paste it as the portal shows it (base64).
form-error-server-path = “{ $server }” is not a server address: a server name, then a path if the service is under one, such as { $example }/remote.php/webdav (no user name, query or fragment; https only).

## The hand-off to a service's sign-in page

handoff-heading = Signing in with { $service }…
handoff-continue = Continue to { $service }

## The result page

result-connected = Account connected. You can close this window.
result-cancelled = You cancelled: no account was connected.
result-cancelled-next = You can close this window, and connect an account from the app later.
result-failed = The account could not be connected.
result-failed-next = Close this window and try again from the app. If it happens again, tell the app's support team and give them the details below.
result-unreachable = This window cannot hand the result to the app: the page that opened it is out of reach, and the app registered no return page (return_urls) to bring it back to.

## The error page: a title and what to do, by the kind of failure

error-refused = This connection could not start
error-refused-next = The app that opened this window asked for something this service cannot do. Close this window and try again from the app. If it happens again, tell the app's support team and give them the details below.
error-expired = This window has expired
error-expired-next = Close this window and start again from the app.
error-busy = Too many attempts
error-busy-next = Wait a minute, then close this window and try again from the app.
error-upstream = The service did not answer
error-upstream-next = The service you chose did not answer in time or answered with an error. Close this window and try again in a few minutes.
error-unavailable = The service is busy
error-unavailable-next = Close this window and try again in a minute.
error-failed = Something went wrong
error-failed-next = Close this window and try again. If it happens again, tell the app's support team.
# The error code is shown as code where { $code } stands.
error-code = Error code { $code }, HTTP status { $status }

## The error page: what went wrong, for the setup errors' codes (`setup-<code>`)

setup-invalid_client = This app is not registered on this server: its client_id is missing or unknown.
setup-untrusted_origin = The page that opened this window is not on one of the app's Trusted Domains.
setup-invalid_return_to = The return page the app gave is not one of its registered return pages.
setup-sign_in_token_required = This app requires a sign-in token for each connection, and none was given.
setup-invalid_scope = The services the app asked for are not offered on this server.
setup-unsupported_response_type = The app asked for a kind of sign-in this server does not offer.

## The organisation-wide form (an admin authorizes the app for the whole organisation)

org-heading = Connect your organisation's { $service }
# The app's name is shown in bold where { $app } stands.
org-asks = { $app } asks to reach the { $service } accounts of your organisation's users. An administrator of the organisation authorizes it once:
org-client-id = Client ID:
# The scopes are shown as code where { $scopes } stands.
org-scopes = OAuth scopes: { $scopes }, then Authorize.
org-give = Give your organisation's domain and your administrator address below, then press Check.
org-docs = How this access works (opens { $service }'s documentation)
org-domain = Domain
org-admin = Administrator address
org-check = Check
org-consent-steps = Microsoft asks you to sign in as an administrator of your organisation, then shows the Permissions requested for your organisation: review them and select Accept.
org-tenant = Your organisation's domain or tenant ID
org-give-tenant = Give your organisation's domain or tenant ID below and press Continue: you then sign in as an administrator and grant access for the whole organisation.
org-continue = Continue
org-error-tenant = Give your organisation's domain (such as contoso.onmicrosoft.com) or its tenant ID.
org-enterprise = Enterprise ID
org-give-enterprise = Give your enterprise's ID below (Admin Console → Account & Billing: Enterprise ID), then press Check.
org-error-enterprise = Give your enterprise's ID: digits only, as the Admin Console shows it under Account & Billing.
