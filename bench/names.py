"""Name, address and contact material for generated fr/en/it patients, most frequent names first."""


def _names(text: str, *extra: str) -> list[str]:
    return [*text.split(), *extra]


FR_FAMILY = _names(
    """
Martin Bernard Thomas Petit Robert Richard Durand Dubois Moreau Laurent Simon Michel Lefebvre Leroy Roux David
Bertrand Morel Fournier Girard Bonnet Dupont Lambert Fontaine Rousseau Vincent Muller Lefèvre Faure André Mercier
Blanc Guérin Boyer Garnier Chevalier François Legrand Gauthier Garcia Perrin Robin Clément Morin Nicolas Henry
Roussel Mathieu Gautier Masson Marchand Duval Denis Dumont Marie Lemaire Noël Meyer Dufour Meunier Brun Blanchard
Giraud Joly Rivière Lucas Brunet Gaillard Barbier Arnaud Martinez Gérard Roche Renard Schmitt Roy Leroux Colin
Vidal Caron Picard Roger Fabre Aubert Lemoine Renaud Dumas Lacroix Olivier Philippe Bourgeois Pierre Benoît Rey
Leclerc Payet Rolland Leclercq Guillaume Lecomte Lopez Jean Dupuy Guillot Hubert Berger Carpentier Sanchez Dupuis
Moulin Louis Deschamps Huet Vasseur Perez Boucher Fleury Royer Klein Jacquet Adam Paris Poirier Marty Aubry Guyot
Carré Charles Renault Charpentier Ménard Maillard Baron Bertin Bailly Hervé Schneider Fernandez Collet Léger
Bouvier Julien Prévost Millet Perrot Daniel Cousin Germain Breton Besson Langlois Rémy Pelletier Lévêque Perrier
Leblanc Barré Lebrun Marchal Weber Mallet Hamon Boulanger Jacob Monnier Michaud Rodriguez Guichard Gillet Étienne
Grondin Poulain Tessier Chevallier Collin Chauvin Bouchet Gay Lemaître Bénard Maréchal Humbert Reynaud Antoine
Hoarau Perret Barthélemy Cordier Pichon Lejeune Gilbert Lamy Delaunay Pasquier Carlier Laporte
""",
    "Le Gall",
    "Le Roux",
    "Le Goff",
    "Da Silva",
)

EN_FAMILY = _names(
    """
Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson Thompson Wright Walker White
Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson Wood Turner Martin Cooper Hill Ward Morris Moore Clark
Lee King Baker Harrison Morgan Allen James Scott Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell
Kelly Cook Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall Anderson Simpson Ellis
Adams Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali Hunt Hussain Campbell Matthews Owen
Palmer Holmes Mills Barnes Knight Lloyd Butler Russell Barker Fisher Stevens Jenkins Murray Dixon Harvey Graham
Pearson Ahmed Fletcher Walsh Kaur Gibson Howard Andrews Stewart Elliott Reynolds Saunders Payne Fox Ford Pearce Day
Brooks West Lawrence Cole Atkinson Bradley Spencer Gill Dawson Ball Burton O'Brien Watts Rose Booth Perry Ryan Grant
Wells Armstrong Francis Rees Hayes Hart Hudson Newman Barrett Webster Hunter Gregory Carr Lowe Page Marsh Riley Dunn
Woods Parsons Berry Stone Reid Holland Hawkins Harding Porter Robertson Newton Oliver Reed Kennedy Williamson Bird
Gardner Shah Dean Lane Cooke Bates Henderson Parry Burgess Bishop Walton Burns Nicholson Shepherd Ross Cross Long
Freeman Warren Nicholls Hamilton Byrne Sutton McDonald Yates Hodgson Robson Curtis Hopkins O'Connor Harper Coleman
Watkins Moss McCarthy Chambers O'Neill Griffin Sharp Hardy Wheeler Potter Osborne Johnston Gordon Doyle Wallace
George Jordan Hutchinson Rowe Burke May Pritchard Gilbert Willis Higgins Read Miles Stevenson Stephenson Hammond
Arnold Buckley Walters Hewitt Barber Nelson Slater Austin Sullivan Whitehead Mann Frost Lambert Stephens Blake
"""
)

IT_FAMILY = _names(
    """
Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno Gallo Conti Costa Giordano Mancini Rizzo
Lombardi Moretti Barbieri Fontana Santoro Mariani Rinaldi Caruso Ferrara Galli Martini Leone Longo Gentile Martinelli
Vitale Lombardo Serra Coppola Marchetti Parisi Villa Conte Ferraro Ferri Fabbri Bianco Marini Grasso Valentini
Messina Sala Gatti Pellegrini Palumbo Sanna Farina Rizzi Monti Cattaneo Morelli Amato Silvestri Mazza Testa Grassi
Pellegrino Carbone Giuliani Benedetti Barone Rossetti Caputo Montanari Guerra Palmieri Bernardi Martino Fiore
Ferretti Bellini Basile Riva Donati Piras Vitali Battaglia Sartori Neri Costantini Milani Pagano Ruggiero Sorrentino
Orlando Negri Mele Orlandi Ruggeri Fumagalli Ferrante Bertolini Cirillo Pace Castelli Vitiello Marchi Cristiani
Bassi Lanza Mazzoni Fabbro Zanetti Zanella Pozzi Brambilla Colonna Cocco Bellucci Giorgi Melis Tedesco Guidi
""",
    "De Luca",
    "De Santis",
    "D'Angelo",
    "De Angelis",
    "De Rosa",
    "D'Amico",
    "Di Stefano",
    "Lo Russo",
)

FR_GIVEN_F = _names(
    """
Marie Nathalie Isabelle Sylvie Catherine Françoise Martine Christine Monique Valérie Sandrine Stéphanie Sophie Céline
Julie Camille Léa Manon Chloé Emma Jade Louise Alice Inès Sarah Claire Anne Élodie Aurélie Émilie Laura Pauline
Mathilde Juliette Charlotte Lucie Margaux Océane Brigitte Jacqueline Nicole Hélène Agnès Véronique Chantal Danielle
Florence Laurence Patricia Caroline
"""
)
FR_GIVEN_M = _names(
    """
Jean Pierre Michel André Philippe Alain Jacques Bernard Daniel Christophe Patrick Nicolas Frédéric Laurent Éric
Stéphane Julien Sébastien David Thomas Lucas Hugo Louis Gabriel Arthur Jules Léo Raphaël Nathan Théo Antoine Maxime
Alexandre Guillaume Romain Olivier Thierry Pascal Didier François Henri Paul Marc Vincent Yves Gérard Claude Bruno
Mathieu Benoît
"""
)
EN_GIVEN_F = _names(
    """
Olivia Amelia Isla Ava Emily Sophie Grace Mia Poppy Ella Lily Evie Jessica Sarah Emma Charlotte Hannah Lucy Chloe
Rebecca Laura Rachel Claire Helen Susan Margaret Elizabeth Mary Patricia Jennifer Linda Karen Julie Joanne Nicola Amy
Katie Lauren Megan Holly Ruth Alison Deborah Janet Gillian Catherine Anne Fiona Zoe Victoria
"""
)
EN_GIVEN_M = _names(
    """
Oliver George Harry Jack Jacob Noah Charlie Thomas Oscar William James Henry Leo Alfie Joshua Daniel Samuel Benjamin
Matthew Andrew David John Michael Paul Mark Richard Peter Robert Stephen Christopher Simon Ian Gary Kevin Steven
Anthony Jonathan Adam Luke Ryan Liam Ethan Lewis Callum Edward Alexander Philip Graham Neil Martin
"""
)
IT_GIVEN_F = _names(
    """
Giulia Sofia Aurora Alice Ginevra Emma Giorgia Greta Beatrice Anna Chiara Francesca Sara Martina Elena Valentina
Alessia Federica Silvia Laura Paola Maria Giuseppina Rosa Angela Giovanna Teresa Lucia Carmela Caterina Roberta
Monica Cristina Barbara Simona Elisa Serena Claudia Daniela Antonella Patrizia Manuela Rita Stefania Marta Ilaria
Camilla Noemi Bianca Vittoria
"""
)
IT_GIVEN_M = _names(
    """
Leonardo Francesco Alessandro Lorenzo Mattia Andrea Gabriele Riccardo Tommaso Edoardo Marco Giuseppe Giovanni Antonio
Mario Luigi Paolo Roberto Stefano Luca Massimo Davide Simone Federico Matteo Salvatore Vincenzo Pietro Angelo Franco
Bruno Carlo Claudio Sergio Fabio Daniele Emanuele Filippo Nicola Michele Alberto Enrico Giorgio Domenico Raffaele
Diego Cristian Alessio Samuele Christian
"""
)

FR_STREETS = [
    "rue de la République",
    "rue Victor Hugo",
    "avenue Jean Jaurès",
    "rue Pasteur",
    "boulevard Gambetta",
    "rue de la Gare",
    "place de l'Église",
    "rue des Écoles",
    "avenue de la Liberté",
    "rue du Moulin",
    "chemin des Vignes",
    "rue Jules Ferry",
    "allée des Tilleuls",
    "rue Nationale",
    "rue du Général de Gaulle",
]
EN_STREETS = [
    "High Street",
    "Station Road",
    "Church Lane",
    "Main Street",
    "Park Road",
    "Victoria Road",
    "Green Lane",
    "Manor Road",
    "Church Street",
    "Park Avenue",
    "Queens Road",
    "The Avenue",
    "London Road",
    "Mill Lane",
    "Kings Road",
]
IT_STREETS = [
    "Via Roma",
    "Via Garibaldi",
    "Via Mazzini",
    "Via Dante Alighieri",
    "Corso Vittorio Emanuele II",
    "Via Cavour",
    "Via Verdi",
    "Piazza della Repubblica",
    "Via Marconi",
    "Via Matteotti",
    "Viale Europa",
    "Via XX Settembre",
    "Via Manzoni",
    "Via San Giovanni",
    "Via Leopardi",
]

FR_CITIES = [
    ("Paris", "75011"),
    ("Marseille", "13008"),
    ("Lyon", "69003"),
    ("Toulouse", "31000"),
    ("Nice", "06000"),
    ("Nantes", "44000"),
    ("Strasbourg", "67000"),
    ("Montpellier", "34000"),
    ("Bordeaux", "33000"),
    ("Lille", "59000"),
    ("Rennes", "35000"),
    ("Reims", "51100"),
    ("Grenoble", "38000"),
    ("Dijon", "21000"),
    ("Angers", "49000"),
    ("Tours", "37000"),
    ("Limoges", "87000"),
    ("Metz", "57000"),
    ("Rouen", "76000"),
    ("Caen", "14000"),
]
# UK cities with an outward code; the inward part of the postcode is generated.
EN_CITIES = [
    ("London", "SE1"),
    ("London", "N1"),
    ("London", "SW11"),
    ("Birmingham", "B15"),
    ("Manchester", "M14"),
    ("Leeds", "LS6"),
    ("Glasgow", "G12"),
    ("Liverpool", "L17"),
    ("Bristol", "BS6"),
    ("Sheffield", "S10"),
    ("Edinburgh", "EH9"),
    ("Leicester", "LE2"),
    ("Cardiff", "CF24"),
    ("Nottingham", "NG7"),
    ("Newcastle upon Tyne", "NE2"),
    ("Brighton", "BN2"),
    ("Oxford", "OX4"),
    ("York", "YO31"),
    ("Norwich", "NR2"),
    ("Bath", "BA2"),
]
IT_CITIES = [
    ("Roma", "00184"),
    ("Milano", "20121"),
    ("Napoli", "80133"),
    ("Torino", "10121"),
    ("Palermo", "90133"),
    ("Genova", "16121"),
    ("Bologna", "40121"),
    ("Firenze", "50122"),
    ("Bari", "70121"),
    ("Catania", "95121"),
    ("Venezia", "30121"),
    ("Verona", "37121"),
    ("Padova", "35121"),
    ("Trieste", "34121"),
    ("Brescia", "25121"),
    ("Parma", "43121"),
    ("Modena", "41121"),
    ("Perugia", "06121"),
    ("Cagliari", "09124"),
    ("Bergamo", "24121"),
]
