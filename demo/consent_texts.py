"""Version 1 of each consent template, in English, French and Italian, as a hospital might word them."""

TEMPLATES = {
    "treatment": {
        "title": {"en": "Consent to care and treatment", "fr": "Consentement aux soins", "it": "Consenso alle cure"},
        "text": {
            "en": "I agree to receive the examinations and care that my care team proposes. Each important procedure will be explained to me first, with its benefits, risks and alternatives, and I may refuse it. I can withdraw this consent at any time.",
            "fr": "J’accepte de recevoir les examens et les soins que mon équipe soignante me propose. Chaque acte important me sera d’abord expliqué, avec ses bénéfices, ses risques et ses alternatives, et je pourrai le refuser. Je peux retirer ce consentement à tout moment.",
            "it": "Acconsento a ricevere gli esami e le cure proposti dalla mia équipe. Ogni procedura importante mi sarà prima spiegata, con benefici, rischi e alternative, e potrò rifiutarla. Posso revocare questo consenso in qualsiasi momento.",
        },
    },
    "virtual_visit": {
        "title": {
            "en": "Consent to virtual visits",
            "fr": "Consentement à la téléconsultation",
            "it": "Consenso alle visite virtuali",
        },
        "text": {
            "en": "I agree to be seen by video. The call is encrypted and not recorded. If the clinician judges that a video visit is not enough, I will be offered an in-person appointment. I can withdraw this consent at any time.",
            "fr": "J’accepte d’être reçu·e en vidéo. L’appel est chiffré et n’est pas enregistré. Si le soignant estime qu’une téléconsultation ne suffit pas, un rendez-vous sur place me sera proposé. Je peux retirer ce consentement à tout moment.",
            "it": "Acconsento a essere visitato/a in video. La chiamata è cifrata e non viene registrata. Se il medico ritiene che la visita video non basti, mi sarà proposto un appuntamento in presenza. Posso revocare questo consenso in qualsiasi momento.",
        },
    },
    "data_sharing": {
        "title": {
            "en": "Sharing my record with other carers",
            "fr": "Partage de mon dossier avec d’autres soignants",
            "it": "Condivisione della mia cartella con altri curanti",
        },
        "text": {
            "en": "I agree that my record may be shared with the professionals who care for me outside this hospital (my GP, my pharmacist, home-care services), only as far as my care requires.",
            "fr": "J’accepte que mon dossier soit partagé avec les professionnels qui me soignent hors de l’hôpital (médecin traitant, pharmacien, soins à domicile), dans la seule mesure nécessaire à mes soins.",
            "it": "Acconsento che la mia cartella sia condivisa con i professionisti che mi curano fuori dall’ospedale (medico di base, farmacista, assistenza domiciliare), solo nella misura necessaria alle mie cure.",
        },
    },
    "research": {
        "title": {
            "en": "Use of my data for research",
            "fr": "Utilisation de mes données pour la recherche",
            "it": "Uso dei miei dati per la ricerca",
        },
        "text": {
            "en": "I agree that my pseudonymised data may be used for research approved by an ethics committee. No one will be able to identify me from the results.",
            "fr": "J’accepte que mes données pseudonymisées soient utilisées pour des recherches approuvées par un comité d’éthique. Personne ne pourra m’identifier à partir des résultats.",
            "it": "Acconsento che i miei dati pseudonimizzati siano usati per ricerche approvate da un comitato etico. Nessuno potrà identificarmi dai risultati.",
        },
    },
    "portal_terms": {
        "title": {
            "en": "Patient portal terms of use",
            "fr": "Conditions d’utilisation du portail",
            "it": "Condizioni d’uso del portale",
        },
        "text": {
            "en": "I will keep my password to myself. The portal is not for emergencies: in an emergency I call the emergency services.",
            "fr": "Je garde mon mot de passe pour moi. Le portail n’est pas fait pour les urgences : en cas d’urgence, j’appelle les secours.",
            "it": "Terrò per me la mia password. Il portale non è per le emergenze: in caso di emergenza chiamo i soccorsi.",
        },
    },
    "marketing_email": {
        "title": {
            "en": "News and invitations by email",
            "fr": "Actualités et invitations par e-mail",
            "it": "Notizie e inviti via e-mail",
        },
        "text": {
            "en": "Send me health news, prevention campaigns and invitations to events by email. I can unsubscribe at any time.",
            "fr": "Envoyez-moi par e-mail des actualités santé, des campagnes de prévention et des invitations. Je peux me désabonner à tout moment.",
            "it": "Inviatemi via e-mail notizie sulla salute, campagne di prevenzione e inviti a eventi. Posso annullare l’iscrizione in qualsiasi momento.",
        },
    },
    "marketing_sms": {
        "title": {
            "en": "News and invitations by SMS",
            "fr": "Actualités et invitations par SMS",
            "it": "Notizie e inviti via SMS",
        },
        "text": {
            "en": "Send me short health reminders and invitations by SMS. I can stop them at any time.",
            "fr": "Envoyez-moi de courts rappels santé et des invitations par SMS. Je peux les arrêter à tout moment.",
            "it": "Inviatemi brevi promemoria sulla salute e inviti via SMS. Posso interromperli in qualsiasi momento.",
        },
    },
    "marketing_post": {
        "title": {
            "en": "News and invitations by post",
            "fr": "Actualités et invitations par courrier",
            "it": "Notizie e inviti per posta",
        },
        "text": {
            "en": "Send me the hospital's newsletter and invitations by post.",
            "fr": "Envoyez-moi la lettre d’information et les invitations de l’hôpital par courrier.",
            "it": "Inviatemi per posta la newsletter e gli inviti dell’ospedale.",
        },
    },
    "marketing_portal": {
        "title": {"en": "News in the portal", "fr": "Actualités dans le portail", "it": "Notizie nel portale"},
        "text": {
            "en": "Show me health news and invitations in my portal inbox.",
            "fr": "Affichez des actualités santé et des invitations dans ma messagerie du portail.",
            "it": "Mostratemi notizie sulla salute e inviti nella casella del portale.",
        },
    },
}
