"""The name tables the demo catalogue draws from: live channels by country, movies, series and their genres.

Each table holds one entry per channel, film or show; :mod:`m3u_strm.demo.catalogue` dresses live channels up with
:data:`NAME_STYLES`, :data:`QUALITY_TAGS` and :data:`NAME_SUFFIXES`. Titles with commas, quotes and non-Latin
scripts are there on purpose.
"""

from __future__ import annotations

# (genre, display name, EPG id). The same channel recurs under different prefixes and quality tags, as it does
# across real providers.
LIVE_CHANNELS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "UK": (
        ("Entertainment", "BBC One", "bbcone.uk"), ("Entertainment", "BBC Two", "bbctwo.uk"),
        ("Entertainment", "ITV1", "itv1.uk"), ("Entertainment", "Channel 4", "channel4.uk"),
        ("Entertainment", "Sky Atlantic", "skyatlantic.uk"), ("Entertainment", "Dave", "dave.uk"),
        ("News", "BBC News", "bbcnews.uk"), ("News", "Sky News", "skynews.uk"),
        ("Sports", "Sky Sports Main Event", "skysportsmainevent.uk"), ("Sports", "Sky Sports 1", "skysports1.uk"),
        ("Sports", "TNT Sports 1", "tntsports1.uk"), ("Movies", "Sky Cinema Premiere", "skycinemapremiere.uk"),
        ("Movies", "Film4", "film4.uk"), ("Kids", "CBeebies", "cbeebies.uk"),
    ),
    "US": (
        ("Entertainment", "NBC", "nbc.us"), ("Entertainment", "ABC", "abc.us"), ("Entertainment", "CBS", "cbs.us"),
        ("Entertainment", "AMC", "amc.us"), ("News", "CNN", "cnn.us"), ("News", "FOX News", "foxnews.us"),
        ("News", "MSNBC", "msnbc.us"), ("Sports", "ESPN", "espn.us"), ("Sports", "ESPN2", "espn2.us"),
        ("Sports", "NBA TV", "nbatv.us"), ("Movies", "HBO", "hbo.us"), ("Movies", "Showtime", "showtime.us"),
        ("Movies", 'TCM "Turner Classic Movies"', "tcm.us"), ("Movies", "Classic Movies, 24/7", "classic247.us"),
        ("Documentary", "Discovery Channel", "discovery.us"), ("Documentary", "National Geographic", "natgeo.us"),
    ),
    "DE": (
        ("Allgemein", "Das Erste", "daserste.de"), ("Allgemein", "ZDF", "zdf.de"), ("Allgemein", "RTL", "rtl.de"),
        ("Allgemein", "Sat.1", "sat1.de"), ("Allgemein", "ProSieben", "prosieben.de"),
        ("Nachrichten", "n-tv", "ntv.de"), ("Nachrichten", "WELT", "welt.de"),
        ("Sport", "Sky Sport Bundesliga 1", "skysportbundesliga1.de"), ("Sport", "SPORT1", "sport1.de"),
        ("Kinder", "KiKA", "kika.de"),
    ),
    "FR": (
        ("Généraliste", "TF1", "tf1.fr"), ("Généraliste", "France 2", "france2.fr"), ("Généraliste", "M6", "m6.fr"),
        ("Généraliste", "Arte", "arte.fr"), ("Info", "BFM TV", "bfmtv.fr"), ("Info", "franceinfo", "franceinfo.fr"),
        ("Sport", "Canal+ Sport", "canalplussport.fr"), ("Sport", "beIN Sports 1", "beinsports1.fr"),
        ("Cinéma", "Canal+ Cinéma", "canalpluscinema.fr"),
    ),
    "ES": (
        ("General", "La 1", "la1.es"), ("General", "Antena 3", "antena3.es"), ("General", "Telecinco", "telecinco.es"),
        ("Deportes", "Movistar LaLiga", "movistarlaliga.es"), ("Deportes", "DAZN LaLiga", "daznlaliga.es"),
    ),
    "IT": (
        ("Generale", "Rai 1", "rai1.it"), ("Generale", "Canale 5", "canale5.it"),
        ("Generale", "Italia 1", "italia1.it"), ("Sport", "Sky Sport Uno", "skysportuno.it"),
    ),
    "TR": (
        ("Ulusal", "TRT 1", "trt1.tr"), ("Ulusal", "Show TV", "showtv.tr"),
        ("Spor", "beIN Sports Haber", "beinhaber.tr"),
    ),
    "GR": (("Γενικά", "ΕΡΤ1", "ert1.gr"), ("Γενικά", "ANT1", "ant1.gr")),  # noqa: RUF001 (Greek on purpose)
    "AR": (
        ("News", "الجزيرة", "aljazeera.qa"), ("News", "Al Arabiya", "alarabiya.ae"),
        ("Entertainment", "MBC 1", "mbc1.ae"),
    ),
}  # fmt: skip
NAME_STYLES = ("{cc}: {name}", "|{cc}| {name}", "{cc} | {name}", "[{cc}] {name}", "{cc}-{name}", "{name}")
QUALITY_TAGS = ("", " HD", " HD", " FHD", " SD", " 4K", " UHD", " HEVC", " ᴴᴰ")
NAME_SUFFIXES = ("",) * 12 + (" (Backup)", " +1", " (720p)", " [Geo-blocked]")

MOVIE_GENRES = ("Action", "Comedy", "Drama", "Western", "Science Fiction", "Kids", "Documentary")
MOVIE_NAME_STYLES = ("{title} ({year})", "{title} 4K", "|EN| {title} ({year})", "{title} ({year}) MULTI-SUB",
                     "{title} ({year}) v{cycle}")  # fmt: skip
MOVIES: tuple[tuple[str, int, str], ...] = (
    ("The Good, the Bad and the Ugly", 1966, "Western"), ("Once Upon a Time in the West", 1968, "Western"),
    ("Unforgiven", 1992, "Western"), ("True Grit", 2010, "Western"), ("Die Hard", 1988, "Action"),
    ("Mad Max: Fury Road", 2015, "Action"), ("John Wick", 2014, "Action"), ("Heat", 1995, "Action"),
    ("The Dark Knight", 2008, "Action"), ("Gladiator", 2000, "Action"), ("Top Gun: Maverick", 2022, "Action"),
    ("Some Like It Hot", 1959, "Comedy"), ("Airplane!", 1980, "Comedy"), ("Groundhog Day", 1993, "Comedy"),
    ("The Big Lebowski", 1998, "Comedy"), ("Monty Python's Life of Brian", 1979, "Comedy"),
    ('"Crocodile" Dundee', 1986, "Comedy"), ("Amélie", 2001, "Comedy"), ("Schindler's List", 1993, "Drama"),
    ("The Shawshank Redemption", 1994, "Drama"), ("12 Angry Men", 1957, "Drama"), ("Parasite", 2019, "Drama"),
    ("Das Boot", 1981, "Drama"), ("Cinema Paradiso", 1988, "Drama"), ("The Godfather", 1972, "Drama"),
    ("Crouching Tiger, Hidden Dragon", 2000, "Drama"), ("Dr. Strangelove or: How I Learned to Stop Worrying "
    "and Love the Bomb", 1964, "Comedy"), ("Blade Runner", 1982, "Science Fiction"),
    ("2001: A Space Odyssey", 1968, "Science Fiction"), ("Alien", 1979, "Science Fiction"),
    ("The Matrix", 1999, "Science Fiction"), ("Arrival", 2016, "Science Fiction"),
    ("Dune: Part Two", 2024, "Science Fiction"), ("Spirited Away", 2001, "Kids"), ("Toy Story", 1995, "Kids"),
    ("Paddington 2", 2017, "Kids"), ("WALL·E", 2008, "Kids"), ("My Neighbor Totoro", 1988, "Kids"),
    ("March of the Penguins", 2005, "Documentary"), ("Free Solo", 2018, "Documentary"),
    ("Man on Wire", 2008, "Documentary"), ("Jiro Dreams of Sushi", 2011, "Documentary"),
)  # fmt: skip

SERIES_GENRES = ("Drama Series", "Crime Series", "Comedy Series", "Kids Series", "Documentary Series")
SERIES: tuple[tuple[str, str, str], ...] = (
    ("Breaking Bad", "Crime Series", "A chemistry teacher turns to making methamphetamine."),
    ("The Wire", "Crime Series", "Baltimore, seen through its drug trade, police, schools and press."),
    ("Sherlock", "Crime Series", "A modern take on the consulting detective."),
    ("Dark", "Drama Series", "Four families, a missing child and a cave in a German town."),
    ("Money Heist", "Crime Series", "Eight robbers take over the Royal Mint of Spain."),
    ("The Crown", "Drama Series", "The reign of Queen Elizabeth II."),
    ("Succession", "Drama Series", "A media dynasty fights over who will take over."),
    ("Babylon Berlin", "Drama Series", "Berlin, 1929: a police inspector, a typist and a city on the edge."),
    ("Fleabag", "Comedy Series", "A woman in London, grief, guilt and a café, talking to the camera."),
    ("The Office", "Comedy Series", "A mockumentary about paper-company employees."),
    ("Parks and Recreation", "Comedy Series", "A small-town parks department, and its deputy director's plans."),
    ("Bluey", "Kids Series", "A Blue Heeler puppy and her family turn everyday life into play."),
    ("Peppa Pig", "Kids Series", "A little pig, her brother George, and muddy puddles."),
    ("Planet Earth", "Documentary Series", "The natural world, from pole to pole."),
    ("Chef's Table", "Documentary Series", "Portraits of the world's most renowned chefs."),
    ("Borgen", "Drama Series", "A Danish politician becomes prime minister."),
    ("Narcos", "Crime Series", 'The rise and fall of Colombia\'s "King of Cocaine".'),
    ("Gomorrah", "Crime Series", "Naples, Camorra clans, and the war between them."),
)  # fmt: skip
