# Les pages de la fenêtre en français. Mêmes clés que en/popup.ftl.

## Le choix du service

chooser-title = Connecter un compte
chooser-heading = { $app } souhaite connecter l’un de vos comptes
chooser-intro = Choisissez le service où se trouve votre compte.
chooser-cancel = Annuler
chooser-search-label = Rechercher un service
chooser-search-button = Rechercher
chooser-count = { $shown ->
    [one] { $shown } service
   *[other] { $shown } services
}
chooser-count-matching = { $shown } services sur { $total } correspondent à « { $search } »
chooser-count-typed = { $shown } services sur { $total }
chooser-empty = Aucun service ne correspond à votre recherche. Essayez un autre nom ou videz le champ de recherche.

## Les groupes

category-suggested = Suggestions
category-storage = Stockage en ligne
category-crm = CRM
category-calendar = Agendas
category-code = Hébergement de code
category-chat = Messagerie instantanée
category-itsm = Gestion des services informatiques
category-email = E-mail
category-accounting = Comptabilité
category-marketing = Marketing
category-database = Bases de données
category-helpdesk = Support client
category-meeting = Réunions
category-project = Gestion de projet
category-documents = Documents
category-design = Design

## Chaque page

footer-help = Aide de { $app }
close-button = Fermer cette fenêtre
close-noscript = Vous pouvez fermer cette fenêtre.
details-summary = Détails pour les développeurs de l’application

## Les formulaires

form-heading = Connecter votre compte { $service }
form-connect = Connecter
connect-asks = { $app } demande à utiliser votre compte { $service }.
connect-asks-admin = { $app } demande à utiliser votre compte { $service } avec un accès administrateur.
connect-demo-note = (Ceci est le fournisseur de démonstration intégré : n’importe quel nom de compte convient.)
connect-account = Nom du compte
credentials-asks = { $app } demande à utiliser votre compte { $service }. Ce que vous saisissez est envoyé à { $service } pour vérification et conservé chiffré sur ce serveur.
credentials-asks-traded = { $app } demande à utiliser votre compte { $service }. Ce que vous saisissez est envoyé une seule fois à { $service }, en échange d’un jeton conservé chiffré sur ce serveur : votre mot de passe n’est pas conservé.
credentials-where-basic = Où trouver vos identifiants (ouvre l’aide de { $service })
credentials-where-key = Où trouver votre clé d’API (ouvre l’aide de { $service })
credentials-username = Nom d’utilisateur
credentials-password = Mot de passe
credentials-region = Région
credentials-api-key = Clé d’API
credentials-reveal = Afficher
hostname-asks = { $app } demande à utiliser votre compte { $service }. Sur quel serveur se trouve-t-il ?
hostname-label = Serveur
hostname-hint = L’adresse du serveur { $service } de votre entreprise, par exemple { $example }.
hostname-continue = Continuer

## Les erreurs des formulaires

form-error-hostname = « { $host } » n’est pas un nom de serveur de la forme { $pattern }.
form-error-fill = Remplissez chaque champ, avec { $max } caractères au plus.
form-error-misconfigured = Ce service n’est pas configuré correctement.
form-error-refused = { $service } a refusé ces identifiants.
form-error-account = « { $account } » n’est pas un nom de compte de stockage : de 3 à 24 lettres minuscules et chiffres.
form-error-account-key = La clé du compte n’est pas valide : collez-la telle que le portail l’affiche (base64).
form-error-server-path = « { $server } » n’est pas une adresse de serveur : un nom de serveur, puis un chemin si le service se trouve sous l’un d’eux, par exemple { $example }/remote.php/webdav (sans nom d’utilisateur, requête ni fragment ; https uniquement).

## Le passage à la page de connexion d’un service

handoff-heading = Connexion à { $service }…
handoff-continue = Continuer vers { $service }

## La page de résultat

result-connected = Compte connecté. Vous pouvez fermer cette fenêtre.
result-cancelled = Vous avez annulé : aucun compte n’a été connecté.
result-cancelled-next = Vous pouvez fermer cette fenêtre et connecter un compte plus tard depuis l’application.
result-failed = Le compte n’a pas pu être connecté.
result-failed-next = Fermez cette fenêtre et réessayez depuis l’application. Si cela se reproduit, contactez l’assistance de l’application en lui donnant les détails ci-dessous.
result-unreachable = Cette fenêtre ne peut pas transmettre le résultat à l’application : la page qui l’a ouverte est hors d’atteinte, et l’application n’a enregistré aucune page de retour (return_urls).

## La page d’erreur

error-refused = Cette connexion n’a pas pu démarrer
error-refused-next = L’application qui a ouvert cette fenêtre a demandé une chose que ce service ne peut pas faire. Fermez cette fenêtre et réessayez depuis l’application. Si cela se reproduit, contactez l’assistance de l’application en lui donnant les détails ci-dessous.
error-expired = Cette fenêtre a expiré
error-expired-next = Fermez cette fenêtre et recommencez depuis l’application.
error-busy = Trop de tentatives
error-busy-next = Attendez une minute, puis fermez cette fenêtre et réessayez depuis l’application.
error-upstream = Le service n’a pas répondu
error-upstream-next = Le service choisi n’a pas répondu à temps ou a répondu par une erreur. Fermez cette fenêtre et réessayez dans quelques minutes.
error-unavailable = Le service est occupé
error-unavailable-next = Fermez cette fenêtre et réessayez dans une minute.
error-failed = Une erreur s’est produite
error-failed-next = Fermez cette fenêtre et réessayez. Si cela se reproduit, contactez l’assistance de l’application.
error-code = Code d’erreur { $code }, statut HTTP { $status }

## La page d’erreur : ce qui n’a pas fonctionné, pour les codes des erreurs de configuration

setup-invalid_client = Cette application n’est pas enregistrée sur ce serveur : son client_id est absent ou inconnu.
setup-untrusted_origin = La page qui a ouvert cette fenêtre n’est sur aucun des Trusted Domains de l’application.
setup-invalid_return_to = La page de retour donnée par l’application n’est pas l’une de ses pages de retour enregistrées.
setup-sign_in_token_required = Cette application exige un jeton de connexion pour chaque connexion, et aucun n’a été donné.
setup-invalid_scope = Les services demandés par l’application ne sont pas proposés sur ce serveur.
setup-unsupported_response_type = L’application a demandé un type de connexion que ce serveur ne propose pas.

## The organisation-wide form (an admin authorizes the app for the whole organisation)

org-heading = Connecter { $service } de votre organisation
org-asks = { $app } demande l’accès aux comptes { $service } des utilisateurs de votre organisation. Un administrateur de l’organisation l’autorise une fois :
org-client-id = ID client :
org-scopes = Champs d’application OAuth : { $scopes }, puis Autoriser.
org-give = Indiquez ci-dessous le domaine de votre organisation et votre adresse d’administrateur, puis appuyez sur Vérifier.
org-docs = Comment fonctionne cet accès (ouvre la documentation de { $service })
org-domain = Domaine
org-admin = Adresse de l’administrateur
org-check = Vérifier
org-consent-steps = Microsoft vous demande de vous connecter en tant qu'administrateur de votre organisation, puis affiche les autorisations demandées pour votre organisation : vérifiez-les et sélectionnez Accepter.
org-tenant = Domaine ou ID de locataire de votre organisation
org-give-tenant = Indiquez ci-dessous le domaine ou l'ID de locataire de votre organisation, puis appuyez sur Continuer : vous vous connectez alors en tant qu'administrateur et accordez l'accès pour toute l'organisation.
org-continue = Continuer
org-error-tenant = Indiquez le domaine de votre organisation (par exemple contoso.onmicrosoft.com) ou son ID de locataire.
org-enterprise = ID d'entreprise
org-give-enterprise = Indiquez ci-dessous l'ID de votre entreprise (Admin Console → Compte et facturation : ID d'entreprise), puis appuyez sur Vérifier.
org-error-enterprise = Indiquez l'ID de votre entreprise : des chiffres seulement, tel que l'Admin Console l'affiche sous Compte et facturation.
